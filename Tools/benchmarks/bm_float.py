"""Float: allocate many small objects with float attributes.

Builds points from sin and cos, normalises each one to unit length and
reduces them to their component-wise maximum.  The check recomputes the
maximum with plain floats in one loop, without objects, and requires every
normalised point to have unit length.
"""

import math

import benchlib


class Point:
    def __init__(self, i):
        self.x = x = math.sin(i)
        self.y = math.cos(i) * 3.0
        self.z = (x * x) / 2.0

    def normalize(self):
        norm = math.sqrt(self.x * self.x + self.y * self.y + self.z * self.z)
        self.x /= norm
        self.y /= norm
        self.z /= norm

    def maximize(self, other):
        if other.x > self.x:
            self.x = other.x
        if other.y > self.y:
            self.y = other.y
        if other.z > self.z:
            self.z = other.z
        return self


def maximum_of(points):
    best = points[0]
    for point in points[1:]:
        best = best.maximize(point)
    return best


def one_round(count):
    points = [Point(i) for i in range(count)]
    for point in points:
        point.normalize()
    unit_error = max(abs(p.x * p.x + p.y * p.y + p.z * p.z - 1.0)
                     for p in points[::97])
    best = maximum_of(points)
    return (best.x, best.y, best.z), unit_error


def work(params):
    count, rounds = params
    return [one_round(count) for _ in range(rounds)]


def plain_maximum(count):
    best = [-math.inf] * 3
    for i in range(count):
        x = math.sin(i)
        components = (x, math.cos(i) * 3.0, x * x / 2.0)
        norm = math.sqrt(sum(c * c for c in components))
        for axis in range(3):
            best[axis] = max(best[axis], components[axis] / norm)
    return tuple(best)


def verify(results, params):
    count, rounds = params
    benchlib.check_equal("rounds", len(results), rounds)
    want = plain_maximum(count)
    for got, unit_error in results:
        benchlib.check(unit_error < 1e-12, "point not normalised: %r"
                       % unit_error)
        for axis in range(3):
            benchlib.check_close("maximum component %d" % axis,
                                 got[axis], want[axis], 1e-15)


if __name__ == "__main__":
    benchlib.main("float", work,
                  {"quick": (1000, 1), "normal": (100000, 12)}, verify)
