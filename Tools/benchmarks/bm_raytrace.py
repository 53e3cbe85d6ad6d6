"""Raytrace: a Whitted-style ray tracer over spheres and a checkered floor.

Object and float heavy: a Vector class with operator overloading, shape
classes with intersect() methods, Blinn-Phong shading, shadow rays and
mirror reflections.  The check re-traces a sample of pixels with a second,
independent renderer written over plain tuples and the textbook quadratic
formula, and requires the same colours.
"""

import math

import benchlib

EPSILON = 1e-6
MAX_DEPTH = 3
AMBIENT = 0.1

# The scene as plain data, shared by both renderers.
# Spheres: centre, radius, colour, diffuse, specular, shininess, reflect.
SPHERES = [
    ((0.0, 1.0, 0.0), 1.0, (0.9, 0.2, 0.2), 0.7, 0.5, 40.0, 0.3),
    ((-2.2, 0.7, 1.2), 0.7, (0.2, 0.8, 0.3), 0.9, 0.2, 10.0, 0.0),
    ((2.0, 0.6, 0.5), 0.6, (0.3, 0.4, 0.9), 0.4, 0.8, 80.0, 0.6),
    ((0.8, 0.3, -1.5), 0.3, (0.9, 0.8, 0.1), 0.8, 0.4, 20.0, 0.1),
]
# The floor y = 0: two checker colours, diffuse, specular, shininess,
# reflect.
FLOOR = ((0.9, 0.9, 0.9), (0.1, 0.1, 0.1), 0.8, 0.1, 5.0, 0.2)
# Lights: position, intensity (white).
LIGHTS = [((-4.0, 6.0, -5.0), 0.8), ((5.0, 4.0, -3.0), 0.5)]
SKY = (0.2, 0.3, 0.5)
EYE = (0.0, 1.5, -6.0)
LOOK_AT = (0.0, 0.8, 0.0)
FIELD_OF_VIEW = 60.0


class Vector:
    __slots__ = ("x", "y", "z")

    def __init__(self, x, y, z):
        self.x = x
        self.y = y
        self.z = z

    def __add__(self, other):
        return Vector(self.x + other.x, self.y + other.y, self.z + other.z)

    def __sub__(self, other):
        return Vector(self.x - other.x, self.y - other.y, self.z - other.z)

    def __mul__(self, factor):
        return Vector(self.x * factor, self.y * factor, self.z * factor)

    def __neg__(self):
        return Vector(-self.x, -self.y, -self.z)

    def dot(self, other):
        return self.x * other.x + self.y * other.y + self.z * other.z

    def cross(self, other):
        return Vector(self.y * other.z - self.z * other.y,
                      self.z * other.x - self.x * other.z,
                      self.x * other.y - self.y * other.x)

    def times(self, other):
        """Component-wise product, for colours."""
        return Vector(self.x * other.x, self.y * other.y, self.z * other.z)

    def length(self):
        return math.sqrt(self.dot(self))

    def normalized(self):
        return self * (1.0 / self.length())

    def reflected(self, normal):
        return self - normal * (2.0 * self.dot(normal))


class Ray:
    __slots__ = ("origin", "direction")

    def __init__(self, origin, direction):
        self.origin = origin
        self.direction = direction

    def at(self, distance):
        return self.origin + self.direction * distance


class Material:
    def __init__(self, diffuse, specular, shininess, reflect):
        self.diffuse = diffuse
        self.specular = specular
        self.shininess = shininess
        self.reflect = reflect


class Sphere:
    def __init__(self, centre, radius, colour, material):
        self.centre = Vector(*centre)
        self.radius = radius
        self.colour = Vector(*colour)
        self.material = material

    def intersect(self, ray):
        """Distance to the nearest hit in front of the ray, or None."""
        offset = ray.origin - self.centre
        half_b = offset.dot(ray.direction)
        c = offset.dot(offset) - self.radius * self.radius
        discriminant = half_b * half_b - c
        if discriminant < 0.0:
            return None
        root = math.sqrt(discriminant)
        distance = -half_b - root
        if distance > EPSILON:
            return distance
        distance = -half_b + root
        if distance > EPSILON:
            return distance
        return None

    def normal_at(self, point):
        return (point - self.centre) * (1.0 / self.radius)

    def colour_at(self, point):
        return self.colour


class Floor:
    def __init__(self, light, dark, material):
        self.light = Vector(*light)
        self.dark = Vector(*dark)
        self.material = material
        self.normal = Vector(0.0, 1.0, 0.0)

    def intersect(self, ray):
        if abs(ray.direction.y) < 1e-12:
            return None
        distance = -ray.origin.y / ray.direction.y
        return distance if distance > EPSILON else None

    def normal_at(self, point):
        return self.normal

    def colour_at(self, point):
        if (math.floor(point.x) + math.floor(point.z)) % 2 == 0:
            return self.light
        return self.dark


class Light:
    def __init__(self, position, intensity):
        self.position = Vector(*position)
        self.intensity = intensity


class Scene:
    def __init__(self):
        self.shapes = [Sphere(centre, radius, colour, Material(*rest))
                       for centre, radius, colour, *rest in SPHERES]
        light, dark, *rest = FLOOR
        self.shapes.append(Floor(light, dark, Material(*rest)))
        self.lights = [Light(*light) for light in LIGHTS]
        self.sky = Vector(*SKY)

    def nearest(self, ray):
        best = None
        best_shape = None
        for shape in self.shapes:
            distance = shape.intersect(ray)
            if distance is not None and (best is None or distance < best):
                best = distance
                best_shape = shape
        return best, best_shape

    def shadowed(self, point, light_direction, light_distance):
        ray = Ray(point, light_direction)
        for shape in self.shapes:
            distance = shape.intersect(ray)
            if distance is not None and distance < light_distance:
                return True
        return False

    def trace(self, ray, depth):
        distance, shape = self.nearest(ray)
        if shape is None:
            return self.sky
        point = ray.at(distance)
        normal = shape.normal_at(point)
        base = shape.colour_at(point)
        material = shape.material
        lifted = point + normal * EPSILON
        colour = base * AMBIENT
        for light in self.lights:
            to_light = light.position - lifted
            light_distance = to_light.length()
            to_light = to_light * (1.0 / light_distance)
            lambert = normal.dot(to_light)
            if lambert <= 0.0 or self.shadowed(lifted, to_light,
                                               light_distance):
                continue
            colour = colour + base * (material.diffuse * lambert
                                      * light.intensity)
            halfway = (to_light - ray.direction).normalized()
            facing = normal.dot(halfway)
            if facing > 0.0:
                shine = (material.specular * light.intensity
                         * facing ** material.shininess)
                colour = colour + Vector(shine, shine, shine)
        if material.reflect > 0.0 and depth < MAX_DEPTH:
            bounce = Ray(lifted, ray.direction.reflected(normal))
            colour = colour + self.trace(bounce, depth + 1) * material.reflect
        return colour


class Camera:
    def __init__(self, width, height):
        self.width = width
        self.height = height
        self.eye = Vector(*EYE)
        forward = (Vector(*LOOK_AT) - self.eye).normalized()
        right = Vector(0.0, 1.0, 0.0).cross(forward).normalized()
        up = forward.cross(right)
        half_width = math.tan(math.radians(FIELD_OF_VIEW) / 2.0)
        half_height = half_width * height / width
        self.forward = forward
        self.right = right * (2.0 * half_width / width)
        self.up = up * (2.0 * half_height / height)
        self.corner = (forward - right * half_width + up * half_height)

    def ray(self, column, row):
        direction = (self.corner + self.right * (column + 0.5)
                     - self.up * (row + 0.5))
        return Ray(self.eye, direction.normalized())


def clamp(value):
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else value


def render(size):
    width, height = size
    scene = Scene()
    camera = Camera(width, height)
    image = []
    for row in range(height):
        line = []
        for column in range(width):
            colour = scene.trace(camera.ray(column, row), 0)
            line.append((clamp(colour.x), clamp(colour.y), clamp(colour.z)))
        image.append(line)
    return image


# The reference renderer: tuples and free functions, the quadratic
# formula in its a, b, c form, the camera basis built component by
# component.

def t_add(a, b):
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def t_sub(a, b):
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def t_scale(a, factor):
    return (a[0] * factor, a[1] * factor, a[2] * factor)


def t_dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def t_unit(a):
    return t_scale(a, 1.0 / math.sqrt(t_dot(a, a)))


def reference_hits(origin, direction):
    """Yield (distance, kind, index) for every surface the ray meets."""
    a = t_dot(direction, direction)
    for index, (centre, radius, *_) in enumerate(SPHERES):
        oc = t_sub(origin, centre)
        b = 2.0 * t_dot(oc, direction)
        c = t_dot(oc, oc) - radius * radius
        discriminant = b * b - 4.0 * a * c
        if discriminant >= 0.0:
            for sign in (-1.0, 1.0):
                distance = (-b + sign * math.sqrt(discriminant)) / (2.0 * a)
                if distance > EPSILON:
                    yield distance, "sphere", index
                    break
    if abs(direction[1]) >= 1e-12:
        distance = -origin[1] / direction[1]
        if distance > EPSILON:
            yield distance, "floor", 0


def reference_trace(origin, direction, depth):
    hits = sorted(reference_hits(origin, direction))
    if not hits:
        return SKY
    distance, kind, index = hits[0]
    point = t_add(origin, t_scale(direction, distance))
    if kind == "sphere":
        centre, radius, base, *material = SPHERES[index]
        normal = t_scale(t_sub(point, centre), 1.0 / radius)
    else:
        light, dark, *material = FLOOR
        normal = (0.0, 1.0, 0.0)
        parity = (math.floor(point[0]) + math.floor(point[2])) % 2
        base = light if parity == 0 else dark
    diffuse, specular, shininess, reflect = material
    lifted = t_add(point, t_scale(normal, EPSILON))
    colour = t_scale(base, AMBIENT)
    for position, intensity in LIGHTS:
        to_light = t_sub(position, lifted)
        light_distance = math.sqrt(t_dot(to_light, to_light))
        to_light = t_scale(to_light, 1.0 / light_distance)
        lambert = t_dot(normal, to_light)
        if lambert <= 0.0:
            continue
        if any(d < light_distance for d, _, _ in
               reference_hits(lifted, to_light)):
            continue
        colour = t_add(colour, t_scale(base, diffuse * lambert * intensity))
        halfway = t_unit(t_sub(to_light, direction))
        facing = t_dot(normal, halfway)
        if facing > 0.0:
            shine = specular * intensity * facing ** shininess
            colour = t_add(colour, (shine, shine, shine))
    if reflect > 0.0 and depth < MAX_DEPTH:
        bounce = t_sub(direction,
                       t_scale(normal, 2.0 * t_dot(direction, normal)))
        colour = t_add(colour, t_scale(reference_trace(lifted, bounce,
                                                       depth + 1), reflect))
    return colour


def reference_pixel(width, height, column, row):
    forward = t_unit(t_sub(LOOK_AT, EYE))
    # right = up x forward with up = (0, 1, 0), then normalised.
    right = t_unit((forward[2], 0.0, -forward[0]))
    up = (forward[1] * right[2] - forward[2] * right[1],
          forward[2] * right[0] - forward[0] * right[2],
          forward[0] * right[1] - forward[1] * right[0])
    half_width = math.tan(math.radians(FIELD_OF_VIEW) / 2.0)
    half_height = half_width * height / width
    u = (2.0 * (column + 0.5) / width - 1.0) * half_width
    v = (1.0 - 2.0 * (row + 0.5) / height) * half_height
    direction = t_unit(t_add(forward, t_add(t_scale(right, u),
                                            t_scale(up, v))))
    colour = reference_trace(EYE, direction, 0)
    return tuple(min(1.0, max(0.0, channel)) for channel in colour)


def verify(image, size):
    width, height = size
    benchlib.check_equal("rows", len(image), height)
    benchlib.check(all(len(line) == width for line in image), "row width")
    for index in range(0, width * height, 7):
        row, column = divmod(index, width)
        want = reference_pixel(width, height, column, row)
        got = image[row][column]
        for channel in range(3):
            benchlib.check_close("pixel (%d, %d)" % (column, row),
                                 got[channel], want[channel], 1e-9)
    colours = {pixel for line in image for pixel in line}
    benchlib.check(len(colours) > width, "image is nearly uniform")


if __name__ == "__main__":
    benchlib.main("raytrace", render,
                  {"quick": (32, 24), "normal": (280, 210)}, verify)
