"""Coroutines: deep chains of async calls that never suspend.

Recursive Fibonacci where every call is ``await``ed, plus a chain of async
methods, driven by send(None) with no event loop: the cost measured is the
coroutine call protocol itself.  Results are checked against Fibonacci
numbers computed by a plain loop and against the chain's closed form.
"""

import benchlib


async def fibonacci(n):
    if n < 2:
        return n
    return await fibonacci(n - 1) + await fibonacci(n - 2)


class Account:
    def __init__(self):
        self.balance = 0

    async def deposit(self, amount):
        self.balance += amount
        return self.balance

    async def deposit_twice(self, amount):
        await self.deposit(amount)
        return await self.deposit(amount)

    async def run(self, count):
        last = 0
        for i in range(count):
            last = await self.deposit_twice(i)
        return last


def drive(coroutine):
    """Run a coroutine that must finish without suspending."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise benchlib.BenchmarkError("coroutine suspended unexpectedly")


def work(params):
    fib_n, rounds, deposits = params
    fibs = [drive(fibonacci(fib_n)) for _ in range(rounds)]
    return fibs, drive(Account().run(deposits))


def fibonacci_loop(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def verify(result, params):
    fib_n, rounds, deposits = params
    fibs, balance = result
    benchlib.check_equal("Fibonacci numbers", fibs,
                         [fibonacci_loop(fib_n)] * rounds)
    benchlib.check_equal("balance", balance, deposits * (deposits - 1))


if __name__ == "__main__":
    benchlib.main("coroutines", work,
                  {"quick": (12, 1, 100), "normal": (27, 20, 500000)}, verify)
