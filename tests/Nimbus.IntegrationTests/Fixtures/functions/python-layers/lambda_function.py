"""Imports a module that only its layer provides (/opt/python)."""
import greetpy


def lambda_handler(event, context):
    return {"greeting": greetpy.greet(event.get("name", "bo"))}
