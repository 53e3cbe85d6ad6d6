"""DeltaBlue: the incremental constraint solver of Freeman-Benson, Maloney
and Borning, on its two classic tests.

The chain test links n+1 variables by required equalities and edits the
first: every edit must reach the last.  The projection test ties n pairs by
dst = src * scale + offset and edits sources, destinations, the scale and
the offset: every pair must keep satisfying the equation.  Both checks are
the constraints' own meaning, computed here by plain arithmetic.
"""

import benchlib

# Strengths, strongest first; a smaller number is stronger.
REQUIRED = 0
STRONG_PREFERRED = 1
PREFERRED = 2
STRONG_DEFAULT = 3
NORMAL = 4
WEAK_DEFAULT = 5
WEAKEST = 6

# Which way a binary constraint is currently enforced.
NONE = 0
FORWARD = 1
BACKWARD = 2


def stronger(a, b):
    return a < b


def weakest_of(a, b):
    return a if a > b else b


class Variable:
    def __init__(self, value):
        self.value = value
        self.constraints = []
        self.determined_by = None
        self.mark = 0
        self.walk_strength = WEAKEST
        self.stay = True

    def add_constraint(self, constraint):
        self.constraints.append(constraint)

    def remove_constraint(self, constraint):
        self.constraints.remove(constraint)
        if self.determined_by is constraint:
            self.determined_by = None


class Constraint:
    """A relation the planner keeps satisfied, by strength."""

    def __init__(self, planner, strength):
        self.planner = planner
        self.strength = strength

    def add(self):
        self.add_to_graph()
        self.planner.incremental_add(self)

    def satisfy(self, mark):
        """Try to enforce this constraint; return the one it overrides."""
        self.choose_method(mark)
        if not self.is_satisfied():
            if self.strength == REQUIRED:
                raise benchlib.BenchmarkError("unsatisfiable required "
                                              "constraint")
            return None
        self.mark_inputs(mark)
        output = self.output()
        overridden = output.determined_by
        if overridden is not None:
            overridden.mark_unsatisfied()
        output.determined_by = self
        if not self.planner.add_propagate(self, mark):
            raise benchlib.BenchmarkError("cycle in the constraint graph")
        output.mark = mark
        return overridden

    def destroy(self):
        if self.is_satisfied():
            self.planner.incremental_remove(self)
        else:
            self.remove_from_graph()

    def is_input(self):
        return False


class UnaryConstraint(Constraint):
    def __init__(self, planner, variable, strength):
        Constraint.__init__(self, planner, strength)
        self.variable = variable
        self.satisfied = False
        self.add()

    def add_to_graph(self):
        self.variable.add_constraint(self)
        self.satisfied = False

    def remove_from_graph(self):
        self.variable.remove_constraint(self)
        self.satisfied = False

    def choose_method(self, mark):
        variable = self.variable
        self.satisfied = (variable.mark != mark
                          and stronger(self.strength, variable.walk_strength))

    def is_satisfied(self):
        return self.satisfied

    def mark_unsatisfied(self):
        self.satisfied = False

    def mark_inputs(self, mark):
        pass

    def inputs_known(self, mark):
        return True

    def output(self):
        return self.variable

    def recalculate(self):
        variable = self.variable
        variable.walk_strength = self.strength
        variable.stay = not self.is_input()
        if variable.stay:
            self.execute()

    def execute(self):
        pass


class StayConstraint(UnaryConstraint):
    """Keep a variable's value unless something stronger changes it."""


class EditConstraint(UnaryConstraint):
    """Mark a variable as changed from outside (an input)."""

    def is_input(self):
        return True


class BinaryConstraint(Constraint):
    def __init__(self, planner, source, target, strength):
        Constraint.__init__(self, planner, strength)
        self.source = source
        self.target = target
        self.direction = NONE
        self.add()

    def add_to_graph(self):
        self.source.add_constraint(self)
        self.target.add_constraint(self)
        self.direction = NONE

    def remove_from_graph(self):
        self.source.remove_constraint(self)
        self.target.remove_constraint(self)
        self.direction = NONE

    def choose_method(self, mark):
        """Pick the direction: write whichever side is free and weaker."""
        source = self.source
        target = self.target
        strength = self.strength
        if source.mark == mark:
            if target.mark != mark and stronger(strength,
                                                target.walk_strength):
                self.direction = FORWARD
            else:
                self.direction = NONE
        elif target.mark == mark:
            if stronger(strength, source.walk_strength):
                self.direction = BACKWARD
            else:
                self.direction = NONE
        elif source.walk_strength > target.walk_strength:
            if stronger(strength, source.walk_strength):
                self.direction = BACKWARD
            else:
                self.direction = NONE
        elif stronger(strength, target.walk_strength):
            self.direction = FORWARD
        else:
            self.direction = NONE

    def is_satisfied(self):
        return self.direction != NONE

    def mark_unsatisfied(self):
        self.direction = NONE

    def input(self):
        return self.source if self.direction == FORWARD else self.target

    def output(self):
        return self.target if self.direction == FORWARD else self.source

    def mark_inputs(self, mark):
        self.input().mark = mark

    def inputs_known(self, mark):
        given = self.input()
        return (given.mark == mark or given.stay
                or given.determined_by is None)

    def recalculate(self):
        given = self.input()
        output = self.output()
        output.walk_strength = weakest_of(self.strength, given.walk_strength)
        output.stay = given.stay
        if output.stay:
            self.execute()


class EqualityConstraint(BinaryConstraint):
    def execute(self):
        self.output().value = self.input().value


class ScaleConstraint(BinaryConstraint):
    """target = source * scale + offset, solvable in both directions."""

    def __init__(self, planner, source, scale, offset, target, strength):
        self.scale = scale
        self.offset = offset
        BinaryConstraint.__init__(self, planner, source, target, strength)

    def add_to_graph(self):
        BinaryConstraint.add_to_graph(self)
        self.scale.add_constraint(self)
        self.offset.add_constraint(self)

    def remove_from_graph(self):
        BinaryConstraint.remove_from_graph(self)
        self.scale.remove_constraint(self)
        self.offset.remove_constraint(self)

    def mark_inputs(self, mark):
        BinaryConstraint.mark_inputs(self, mark)
        self.scale.mark = mark
        self.offset.mark = mark

    def execute(self):
        if self.direction == FORWARD:
            self.target.value = (self.source.value * self.scale.value
                                 + self.offset.value)
        else:
            self.source.value = ((self.target.value - self.offset.value)
                                 // self.scale.value)

    def recalculate(self):
        given = self.input()
        output = self.output()
        output.walk_strength = weakest_of(self.strength, given.walk_strength)
        output.stay = given.stay and self.scale.stay and self.offset.stay
        if output.stay:
            self.execute()


class Plan:
    """Constraints in the order that propagates an input change."""

    def __init__(self, constraints):
        self.constraints = constraints

    def execute(self):
        for constraint in self.constraints:
            constraint.execute()


class Planner:
    def __init__(self):
        self.current_mark = 0

    def new_mark(self):
        self.current_mark += 1
        return self.current_mark

    def incremental_add(self, constraint):
        """Enforce constraint, retracting weaker ones it conflicts with."""
        mark = self.new_mark()
        overridden = constraint.satisfy(mark)
        while overridden is not None:
            overridden = overridden.satisfy(mark)

    def incremental_remove(self, constraint):
        """Retract constraint, then re-satisfy what it had blocked,
        strongest first."""
        output = constraint.output()
        constraint.mark_unsatisfied()
        constraint.remove_from_graph()
        unsatisfied = self.remove_propagate_from(output)
        for strength in range(REQUIRED, WEAKEST):
            for candidate in unsatisfied:
                if candidate.strength == strength:
                    self.incremental_add(candidate)

    def add_propagate(self, constraint, mark):
        """Recompute walk strengths downstream; False on a cycle."""
        todo = [constraint]
        while todo:
            current = todo.pop()
            if current.output().mark == mark:
                self.incremental_remove(constraint)
                return False
            current.recalculate()
            self.add_consumers(current.output(), todo)
        return True

    def remove_propagate_from(self, output):
        """Free output and everything downstream; return the constraints
        left unsatisfied there."""
        output.determined_by = None
        output.walk_strength = WEAKEST
        output.stay = True
        unsatisfied = []
        todo = [output]
        while todo:
            variable = todo.pop()
            for constraint in variable.constraints:
                if not constraint.is_satisfied():
                    unsatisfied.append(constraint)
            determining = variable.determined_by
            for constraint in variable.constraints:
                if constraint is not determining and \
                        constraint.is_satisfied():
                    constraint.recalculate()
                    todo.append(constraint.output())
        return unsatisfied

    def add_consumers(self, variable, collection):
        determining = variable.determined_by
        for constraint in variable.constraints:
            if constraint is not determining and constraint.is_satisfied():
                collection.append(constraint)

    def make_plan(self, sources):
        mark = self.new_mark()
        plan = []
        todo = list(sources)
        while todo:
            constraint = todo.pop(0)
            output = constraint.output()
            if output.mark != mark and constraint.inputs_known(mark):
                plan.append(constraint)
                output.mark = mark
                self.add_consumers(output, todo)
        return Plan(plan)

    def plan_for_inputs(self, constraints):
        return self.make_plan([c for c in constraints
                               if c.is_input() and c.is_satisfied()])


def chain_test(n):
    planner = Planner()
    variables = [Variable(0) for _ in range(n + 1)]
    for previous, current in zip(variables, variables[1:]):
        EqualityConstraint(planner, previous, current, REQUIRED)
    first = variables[0]
    last = variables[-1]
    StayConstraint(planner, last, STRONG_DEFAULT)
    edit = EditConstraint(planner, first, PREFERRED)
    plan = planner.plan_for_inputs([edit])
    for value in range(100):
        first.value = value
        plan.execute()
        benchlib.check_equal("end of chain", last.value, value)
    return 1


def change(planner, variable, value):
    edit = EditConstraint(planner, variable, PREFERRED)
    plan = planner.plan_for_inputs([edit])
    for _ in range(10):
        variable.value = value
        plan.execute()
    edit.destroy()


def projection_test(n):
    planner = Planner()
    scale = Variable(10)
    offset = Variable(1000)
    sources = []
    targets = []
    for i in range(n):
        source = Variable(i)
        target = Variable(i)
        sources.append(source)
        targets.append(target)
        StayConstraint(planner, source, NORMAL)
        ScaleConstraint(planner, source, scale, offset, target, REQUIRED)
    change(planner, sources[-1], 17)
    benchlib.check_equal("projected target", targets[-1].value, 17 * 10 + 1000)
    change(planner, targets[-1], 1050)
    benchlib.check_equal("projected source", sources[-1].value,
                         (1050 - 1000) // 10)
    change(planner, scale, 5)
    for i in range(n - 1):
        benchlib.check_equal("target after scale change", targets[i].value,
                             i * 5 + 1000)
    change(planner, offset, 2000)
    for i in range(n - 1):
        benchlib.check_equal("target after offset change", targets[i].value,
                             i * 5 + 2000)
    return 1


def work(params):
    n, rounds = params
    passed = 0
    for _ in range(rounds):
        passed += chain_test(n)
        passed += projection_test(n)
    return passed


def verify(passed, params):
    benchlib.check_equal("tests passed", passed, 2 * params[1])


if __name__ == "__main__":
    benchlib.main("deltablue", work,
                  {"quick": (100, 1), "normal": (10000, 5)}, verify)
