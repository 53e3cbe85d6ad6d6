"""Hexiom: exhaustive board search on a hexagonal sliding-tile puzzle.

A hexagonal board holds numbered tiles; a tile's number must equal how many
of its (up to six) neighbouring cells hold tiles.  Given the bag of tiles
and a few revealed cells, a backtracking search with bound propagation
finds every placement.  Puzzles are generated from a planted placement
(with a private linear congruential generator, so every interpreter sees
the same boards); the check requires the planted placement among the
solutions and re-verifies every solution from scratch.
"""

import benchlib

EMPTY = -1
UNKNOWN = -2
DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1))


def lcg(seed):
    state = seed
    while True:
        state = (state * 6364136223846793005 + 1442695040888963407) \
            % (1 << 64)
        yield state >> 33


def board_cells(radius):
    """Axial coordinates of a hexagon of the given radius, row by row."""
    return [(q, r) for r in range(-radius, radius + 1)
            for q in range(-radius, radius + 1)
            if abs(q + r) <= radius]


class Puzzle:
    def __init__(self, radius, seed, density, revealed):
        self.cells = board_cells(radius)
        index = {cell: i for i, cell in enumerate(self.cells)}
        self.neighbours = [
            [index[(q + dq, r + dr)] for dq, dr in DIRECTIONS
             if (q + dq, r + dr) in index]
            for q, r in self.cells]
        numbers = lcg(seed)
        occupied = [next(numbers) % 1000 < density * 1000
                    for _ in self.cells]
        self.planted = tuple(
            sum(occupied[n] for n in self.neighbours[i]) if occupied[i]
            else EMPTY for i in range(len(self.cells)))
        self.bag = [0] * 7
        for value in self.planted:
            if value != EMPTY:
                self.bag[value] += 1
        self.givens = {}
        for i, value in enumerate(self.planted):
            if next(numbers) % 1000 < revealed * 1000:
                self.givens[i] = value


class Solver:
    """Cells are filled in board order; for every placed tile the search
    keeps how many neighbours hold tiles (low) and how many are still
    open, and prunes as soon as a tile's number leaves [low, low + open].
    """

    def __init__(self, puzzle):
        self.neighbours = puzzle.neighbours
        size = len(puzzle.cells)
        self.values = [UNKNOWN] * size
        self.filled = [0] * size
        self.open = [len(n) for n in self.neighbours]
        self.bag = list(puzzle.bag)
        self.empties = size - sum(self.bag)
        self.solutions = []
        self.nodes = 0
        self.order = [i for i in range(size) if i not in puzzle.givens]
        self.consistent = True
        for cell, value in sorted(puzzle.givens.items()):
            if not self.take(value) or not self.place(cell, value):
                self.consistent = False

    def take(self, value):
        if value == EMPTY:
            if self.empties == 0:
                return False
            self.empties -= 1
        else:
            if self.bag[value] == 0:
                return False
            self.bag[value] -= 1
        return True

    def give_back(self, value):
        if value == EMPTY:
            self.empties += 1
        else:
            self.bag[value] += 1

    def fits(self, cell):
        value = self.values[cell]
        filled = self.filled[cell]
        return filled <= value <= filled + self.open[cell]

    def place(self, cell, value):
        """Put value on cell; return whether all nearby bounds still hold."""
        self.values[cell] = value
        ok = value == EMPTY or self.fits(cell)
        tile = value != EMPTY
        for neighbour in self.neighbours[cell]:
            self.open[neighbour] -= 1
            if tile:
                self.filled[neighbour] += 1
            if self.values[neighbour] >= 0 and not self.fits(neighbour):
                ok = False
        return ok

    def remove(self, cell):
        tile = self.values[cell] != EMPTY
        self.values[cell] = UNKNOWN
        for neighbour in self.neighbours[cell]:
            self.open[neighbour] += 1
            if tile:
                self.filled[neighbour] -= 1

    def search(self, depth):
        self.nodes += 1
        if depth == len(self.order):
            self.solutions.append(tuple(self.values))
            return
        cell = self.order[depth]
        limit = len(self.neighbours[cell])
        for value in range(EMPTY, limit + 1):
            if not self.take(value):
                continue
            if self.place(cell, value):
                self.search(depth + 1)
            self.remove(cell)
            self.give_back(value)

    def solve(self):
        if self.consistent:
            self.search(0)
        return self.solutions


def work(specs):
    results = []
    for spec in specs:
        solver = Solver(Puzzle(*spec))
        results.append((solver.solve(), solver.nodes))
    return results


def valid(puzzle, solution):
    """Check a solution against the rules alone, by coordinates."""
    cells = puzzle.cells
    tiles = {cell for cell, value in zip(cells, solution) if value != EMPTY}
    for (q, r), value in zip(cells, solution):
        if value == EMPTY:
            continue
        around = sum((q + dq, r + dr) in tiles for dq, dr in DIRECTIONS)
        if around != value:
            return False
    bag = [solution.count(value) for value in range(7)]
    return bag == puzzle.bag and all(solution[cell] == value for cell, value
                                     in puzzle.givens.items())


def verify(results, specs):
    benchlib.check_equal("puzzles", len(results), len(specs))
    for spec, (solutions, _) in zip(specs, results):
        puzzle = Puzzle(*spec)
        benchlib.check(puzzle.planted in solutions,
                       "planted placement of %r not found" % (spec,))
        benchlib.check_equal("distinct solutions", len(set(solutions)),
                             len(solutions))
        for solution in solutions:
            benchlib.check(valid(puzzle, solution),
                           "invalid solution %r" % (solution,))


if __name__ == "__main__":
    benchlib.main("hexiom", work,
                  {"quick": [(2, 1, 0.6, 0.3), (3, 4, 0.55, 0.3)],
                   "normal": [(3, seed, 0.55, 0.3)
                              for seed in (8, 11, 20, 24)]},
                  verify)
