"""A module a Python function imports from its layer (/opt/python)."""


def greet(name):
    return f"hello {name} from a layer"
