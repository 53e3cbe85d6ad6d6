"""Richards: Martin Richards' operating-system task scheduler simulation.

Six tasks (idle, worker, two handlers, two devices) exchange packets through
a priority scheduler.  With the classic count of 10000 the original
benchmark's specification fixes the outcome: 23246 packets queued and 9297
holds.  Object-oriented: each task kind is a class with a run() method.
"""

import benchlib

IDLE, WORKER, HANDLER_A, HANDLER_B, DEVICE_A, DEVICE_B = range(1, 7)
KIND_DEVICE, KIND_WORK = 0, 1
DATA_SIZE = 4

# Task state bits: a packet is waiting, the task waits for one, it is held.
PACKET_BIT = 1
WAIT_BIT = 2
HOLD_BIT = 4
ALPHABET = "0ABCDEFGHIJKLMNOPQRSTUVWXYZ"

EXPECTED_QUEUED = 23246
EXPECTED_HOLDS = 9297
COUNT = 10000


class Packet:
    __slots__ = ("link", "dest", "kind", "datum", "data")

    def __init__(self, link, dest, kind):
        self.link = link
        self.dest = dest
        self.kind = kind
        self.datum = 0
        self.data = [0] * DATA_SIZE


def append_packet(packet, queue):
    """Return queue with packet appended at its tail."""
    packet.link = None
    if queue is None:
        return packet
    tail = queue
    while tail.link is not None:
        tail = tail.link
    tail.link = packet
    return queue


class Task:
    def __init__(self, system, ident, priority, queue, state):
        self.system = system
        self.ident = ident
        self.priority = priority
        self.queue = queue
        self.state = state
        self.next = system.task_list
        system.task_list = self
        system.tasks[ident] = self

    def runnable(self):
        """Return the packet to run with, or False when it cannot run."""
        state = self.state
        if state & HOLD_BIT:
            return False
        if state & WAIT_BIT:
            if not state & PACKET_BIT:
                return False
            packet = self.queue
            self.queue = packet.link
            self.state = PACKET_BIT if self.queue is not None else 0
            return packet
        return None


class IdleTask(Task):
    def __init__(self, system, ident, priority, seed, count):
        Task.__init__(self, system, ident, priority, None, 0)
        self.seed = seed
        self.count = count

    def run(self, packet):
        system = self.system
        self.count -= 1
        if self.count == 0:
            return system.hold_self()
        if self.seed & 1 == 0:
            self.seed >>= 1
            return system.release(DEVICE_A)
        self.seed = (self.seed >> 1) ^ 0xD008
        return system.release(DEVICE_B)


class WorkTask(Task):
    def __init__(self, system, ident, priority, queue, state):
        Task.__init__(self, system, ident, priority, queue, state)
        self.destination = HANDLER_A
        self.letter = 0

    def run(self, packet):
        if packet is None:
            return self.system.wait()
        self.destination = HANDLER_A + HANDLER_B - self.destination
        packet.dest = self.destination
        packet.datum = 0
        data = packet.data
        for i in range(DATA_SIZE):
            self.letter += 1
            if self.letter > 26:
                self.letter = 1
            data[i] = ALPHABET[self.letter]
        return self.system.queue_packet(packet)


class HandlerTask(Task):
    def __init__(self, system, ident, priority, queue, state):
        Task.__init__(self, system, ident, priority, queue, state)
        self.work_queue = None
        self.device_queue = None

    def run(self, packet):
        if packet is not None:
            if packet.kind == KIND_WORK:
                self.work_queue = append_packet(packet, self.work_queue)
            else:
                self.device_queue = append_packet(packet, self.device_queue)
        work = self.work_queue
        if work is not None:
            position = work.datum
            if position >= DATA_SIZE:
                self.work_queue = work.link
                return self.system.queue_packet(work)
            device = self.device_queue
            if device is not None:
                self.device_queue = device.link
                device.datum = work.data[position]
                work.datum = position + 1
                return self.system.queue_packet(device)
        return self.system.wait()


class DeviceTask(Task):
    def __init__(self, system, ident, priority, queue, state):
        Task.__init__(self, system, ident, priority, queue, state)
        self.pending = None

    def run(self, packet):
        system = self.system
        if packet is None:
            pending = self.pending
            if pending is None:
                return system.wait()
            self.pending = None
            return system.queue_packet(pending)
        self.pending = packet
        return system.hold_self()


class System:
    def __init__(self):
        self.task_list = None
        self.tasks = [None] * 7
        self.current = None
        self.queued = 0
        self.holds = 0

    def wait(self):
        self.current.state |= WAIT_BIT
        return self.current

    def hold_self(self):
        self.holds += 1
        self.current.state |= HOLD_BIT
        return self.current.next

    def release(self, ident):
        task = self.tasks[ident]
        task.state &= ~HOLD_BIT
        if task.priority > self.current.priority:
            return task
        return self.current

    def queue_packet(self, packet):
        task = self.tasks[packet.dest]
        self.queued += 1
        packet.link = None
        packet.dest = self.current.ident
        if task.queue is None:
            task.queue = packet
            task.state |= PACKET_BIT
            if task.priority > self.current.priority:
                return task
        else:
            append_packet(packet, task.queue)
        return self.current

    def schedule(self):
        task = self.task_list
        while task is not None:
            packet = task.runnable()
            if packet is False:
                task = task.next
                continue
            self.current = task
            task = task.run(packet)


def setup(count):
    system = System()
    IdleTask(system, IDLE, 0, 1, count)
    queue = Packet(None, 0, KIND_WORK)
    queue = Packet(queue, 0, KIND_WORK)
    WorkTask(system, WORKER, 1000, queue, PACKET_BIT | WAIT_BIT)
    for ident, priority, device in ((HANDLER_A, 2000, DEVICE_A),
                                    (HANDLER_B, 3000, DEVICE_B)):
        queue = None
        for _ in range(3):
            queue = Packet(queue, device, KIND_DEVICE)
        HandlerTask(system, ident, priority, queue, PACKET_BIT | WAIT_BIT)
    DeviceTask(system, DEVICE_A, 4000, None, WAIT_BIT)
    DeviceTask(system, DEVICE_B, 5000, None, WAIT_BIT)
    return system


def work(iterations):
    outcomes = []
    for _ in range(iterations):
        system = setup(COUNT)
        system.schedule()
        outcomes.append((system.queued, system.holds))
    return outcomes


def verify(outcomes, iterations):
    benchlib.check_equal("iterations", len(outcomes), iterations)
    for queued, holds in outcomes:
        benchlib.check_equal("packets queued", queued, EXPECTED_QUEUED)
        benchlib.check_equal("holds", holds, EXPECTED_HOLDS)


if __name__ == "__main__":
    benchlib.main("richards", work, {"quick": 1, "normal": 50}, verify)
