"""Dev tooling: what runs the embedded default (``make demo``, ``make up``) and the tests' stacks.

Nothing in the library imports this package; it imports the library like a user would.
"""
