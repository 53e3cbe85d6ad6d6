"""N-body: the Jovian planets around the Sun, symplectic Euler integration.

The initial conditions are the well-known ones of the Computer Language
Benchmarks Game, whose published output fixes the energy before stepping
(-0.169075164) and after 1000 steps of 0.01 (-0.169087605).  A symplectic
integrator keeps the energy near its start, which checks longer runs.
"""

import math

import benchlib

SOLAR_MASS = 4 * math.pi * math.pi
DAYS_PER_YEAR = 365.24
DT = 0.01
ENERGY_AT_START = "-0.169075164"
ENERGY_AFTER_1000 = "-0.169087605"

# name: position (AU), velocity (AU/day), mass (solar masses)
PLANETS = [
    ((4.84143144246472090e+00, -1.16032004402742839e+00,
      -1.03622044471123109e-01),
     (1.66007664274403694e-03, 7.69901118419740425e-03,
      -6.90460016972063023e-05),
     9.54791938424326609e-04),
    ((8.34336671824457987e+00, 4.12479856412430479e+00,
      -4.03523417114321381e-01),
     (-2.76742510726862411e-03, 4.99852801234917238e-03,
      2.30417297573763929e-05),
     2.85885980666130812e-04),
    ((1.28943695621391310e+01, -1.51111514016986312e+01,
      -2.23307578892655734e-01),
     (2.96460137564761618e-03, 2.37847173959480950e-03,
      -2.96589568540237556e-05),
     4.36624404335156298e-05),
    ((1.53796971148509165e+01, -2.59193146099879641e+01,
      1.79258772950371181e-01),
     (2.68067772490389322e-03, 1.62824170038242295e-03,
      -9.51592254519715870e-05),
     5.15138902046611451e-05),
]


class Body:
    __slots__ = ("x", "y", "z", "vx", "vy", "vz", "mass")

    def __init__(self, position, velocity, mass):
        self.x, self.y, self.z = position
        self.vx, self.vy, self.vz = velocity
        self.mass = mass


def make_system():
    sun = Body((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), SOLAR_MASS)
    bodies = [sun]
    for position, velocity, mass in PLANETS:
        bodies.append(Body(position,
                           [v * DAYS_PER_YEAR for v in velocity],
                           mass * SOLAR_MASS))
    # Give the Sun the momentum that makes the system's total zero.
    px = py = pz = 0.0
    for body in bodies:
        px += body.vx * body.mass
        py += body.vy * body.mass
        pz += body.vz * body.mass
    sun.vx = -px / SOLAR_MASS
    sun.vy = -py / SOLAR_MASS
    sun.vz = -pz / SOLAR_MASS
    return bodies


def pairs_of(bodies):
    return [(a, b) for i, a in enumerate(bodies) for b in bodies[i + 1:]]


def energy(bodies):
    total = 0.0
    for body in bodies:
        total += 0.5 * body.mass * (body.vx * body.vx + body.vy * body.vy
                                    + body.vz * body.vz)
    for a, b in pairs_of(bodies):
        dx = a.x - b.x
        dy = a.y - b.y
        dz = a.z - b.z
        total -= a.mass * b.mass / math.sqrt(dx * dx + dy * dy + dz * dz)
    return total


def advance(bodies, pairs, steps):
    for _ in range(steps):
        for a, b in pairs:
            dx = a.x - b.x
            dy = a.y - b.y
            dz = a.z - b.z
            distance2 = dx * dx + dy * dy + dz * dz
            magnitude = DT / (distance2 * math.sqrt(distance2))
            scale_b = b.mass * magnitude
            scale_a = a.mass * magnitude
            a.vx -= dx * scale_b
            a.vy -= dy * scale_b
            a.vz -= dz * scale_b
            b.vx += dx * scale_a
            b.vy += dy * scale_a
            b.vz += dz * scale_a
        for body in bodies:
            body.x += DT * body.vx
            body.y += DT * body.vy
            body.z += DT * body.vz


def work(steps):
    bodies = make_system()
    pairs = pairs_of(bodies)
    energies = [energy(bodies)]
    advance(bodies, pairs, 1000)
    energies.append(energy(bodies))
    advance(bodies, pairs, steps - 1000)
    energies.append(energy(bodies))
    return energies


def verify(energies, steps):
    start, after_1000, final = energies
    benchlib.check_equal("energy at start", "%.9f" % start, ENERGY_AT_START)
    benchlib.check_equal("energy after 1000 steps", "%.9f" % after_1000,
                         ENERGY_AFTER_1000)
    # Symplectic Euler keeps the energy error bounded; this orbit's
    # error stays in the fifth decimal place.
    benchlib.check_close("energy after %d steps" % steps, final, start, 1e-4)


if __name__ == "__main__":
    benchlib.main("nbody", work, {"quick": 2000, "normal": 600000}, verify)
