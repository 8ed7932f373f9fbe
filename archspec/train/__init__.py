"""Training specs from declarative recipes: `archspec train`, `archspec plot`.

Import the submodules directly (they need torch); `recipe` alone does not.
"""
