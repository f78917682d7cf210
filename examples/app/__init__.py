"""A tiny async service, the code under test of the example suite."""
