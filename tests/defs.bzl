"""doctest_suite: one doctest binary per source file, named after it (foo_test.cc -> foo_test)."""

def doctest_suite(name, srcs = None, deps = [], **kwargs):
    native.cc_test(
        name = name,
        srcs = srcs or [name + ".cc"],
        deps = deps + ["//tests:doctest_main", "@doctest"],
        **kwargs
    )
