"""chartgen: compile OpenStack service blueprints and release overlays into an umbrella Helm chart.

The pipeline runs one way: load -> validate -> merge -> resolve -> checks -> render -> write -> verify.
Each stage is one module; `chartgen.build.build()` calls them in order.
"""

__version__ = "0.1.0"
