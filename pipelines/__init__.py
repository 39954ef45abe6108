"""Definitions, resources, automation and the command line: the only layer that wires everything."""
