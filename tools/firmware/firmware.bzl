"""firmware_image: a cc_binary for the Cortex-M4 board, linked with its memory map."""

def firmware_image(name, srcs, deps, copts = []):
    """An image for QEMU's mps2-an386 (tools/firmware/mps2_an386.ld).

    Tagged manual: it builds only with --config=cortex-m4, so `bazel build //...` skips it.
    """
    native.cc_binary(
        name = name,
        srcs = srcs,
        copts = copts,
        additional_linker_inputs = ["//tools/firmware:mps2_an386.ld"],
        linkopts = [
            "-T",
            "$(location //tools/firmware:mps2_an386.ld)",
        ],
        tags = ["manual"],
        deps = deps,
    )
