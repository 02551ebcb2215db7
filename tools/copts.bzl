"""Compiler options for product code (statemachines/, driver_channel/, layers/).

Product code never uses exceptions or RTTI, in every build configuration, not only in firmware
builds: tools/no_heap_check.sh then verifies from the archives that nothing needs them.
"""

PRODUCT_COPTS = [
    "-fno-exceptions",
    "-fno-rtti",
]
