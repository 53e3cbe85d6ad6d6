"""Cinder's demo program: says what interpreter runs it, then times a small float- and
call-heavy workload (an n-body simulation) and checks its answer."""

import math
import sys
import time


def describe():
    try:
        import cinder
    except ImportError:
        return f"stock CPython {sys.version.split()[0]}"
    jit = "off"
    try:
        import cinderjit
        jit = "on" if cinderjit.is_enabled() else "off"
    except (ImportError, AttributeError):
        pass
    return f"Cinder {cinder.version} on CPython {cinder.upstream_version}, JIT {jit}"


def make_bodies():
    # Sun, Jupiter, Saturn, Uranus, Neptune: positions (AU), velocities (AU/day), masses.
    solar_mass = 4 * math.pi * math.pi
    days = 365.24
    raw = [
        ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 1.0),
        ((4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01),
         (1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05),
         9.54791938424326609e-04),
        ((8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01),
         (-2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05),
         2.85885980666130812e-04),
        ((1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01),
         (2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05),
         4.36624404335156298e-05),
        ((1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01),
         (2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05),
         5.15138902046611451e-05),
    ]
    return [[list(p), [v * days for v in vel], m * solar_mass] for p, vel, m in raw]


def energy(bodies):
    e = 0.0
    for i, (p, v, m) in enumerate(bodies):
        e += 0.5 * m * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
        for q, _, m2 in bodies[i + 1:]:
            d = math.sqrt(sum((p[k] - q[k]) ** 2 for k in range(3)))
            e -= m * m2 / d
    return e


def advance(bodies, dt, steps):
    pairs = [(bodies[i], bodies[j])
             for i in range(len(bodies)) for j in range(i + 1, len(bodies))]
    for _ in range(steps):
        for (p1, v1, m1), (p2, v2, m2) in pairs:
            dx = p1[0] - p2[0]
            dy = p1[1] - p2[1]
            dz = p1[2] - p2[2]
            mag = dt / ((dx * dx + dy * dy + dz * dz) ** 1.5)
            b1 = m1 * mag
            b2 = m2 * mag
            v1[0] -= dx * b2
            v1[1] -= dy * b2
            v1[2] -= dz * b2
            v2[0] += dx * b1
            v2[1] += dy * b1
            v2[2] += dz * b1
        for p, v, _ in bodies:
            p[0] += dt * v[0]
            p[1] += dt * v[1]
            p[2] += dt * v[2]


def main():
    print(describe())
    bodies = make_bodies()
    # Move the system's centre of mass to rest, as the classic benchmark does.
    for k in range(3):
        momentum = sum(v[k] * m for _, v, m in bodies)
        bodies[0][1][k] -= momentum / bodies[0][2]
    before = energy(bodies)
    start = time.perf_counter()
    advance(bodies, 0.01, 200_000)
    elapsed = time.perf_counter() - start
    after = energy(bodies)
    # A symplectic integrator keeps the total energy nearly constant.
    drift = abs((after - before) / before)
    print(f"n-body, 200000 steps: energy {before:.9f} -> {after:.9f} "
          f"(relative drift {drift:.1e}) in {elapsed:.2f} s")
    if drift > 1e-4:
        sys.exit("demo: energy drifted; the interpreter computed a wrong result")


if __name__ == "__main__":
    main()
