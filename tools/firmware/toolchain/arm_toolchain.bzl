"""arm_none_eabi_toolchain: Debian's arm-none-eabi-gcc as a Bazel C++ toolchain for one Cortex-M core."""

load("@bazel_tools//tools/cpp:unix_cc_toolchain_config.bzl", "cc_toolchain_config")

def arm_none_eabi_toolchain(name, cpu):
    """Defines `name` (a cc_toolchain) for `cpu` ("cortex-m3", "cortex-m4"): Thumb-2, soft float.

    The flags are the firmware's: no exceptions, no RTTI, sections for --gc-sections, -Os in opt.
    Linking: no start files (tools/firmware/startup.cc is the startup), newlib-nano, unused
    sections dropped; the board's linker script is the application's (firmware.bzl).
    """
    target = ["-mcpu=" + cpu, "-mthumb", "-mfloat-abi=soft"]
    cc_toolchain_config(
        name = name + "_config",
        abi_libc_version = "newlib",
        abi_version = "eabi",
        compile_flags = target + [
            "-ffunction-sections",
            "-fdata-sections",
            "-fno-exceptions",
            "-fno-rtti",
            "-fno-threadsafe-statics",
            "-Wall",
            "-Wextra",
        ],
        compiler = "gcc",
        cpu = cpu,
        # The cross compiler's own directories (`arm-none-eabi-g++ -E -v`): on Debian, newlib and
        # its libstdc++, never the host's /usr/include.
        cxx_builtin_include_directories = [
            "/usr/lib/gcc/arm-none-eabi",
            "/usr/lib/arm-none-eabi/include",
            "/usr/include/newlib",
        ],
        cxx_flags = ["-std=c++20"],
        dbg_compile_flags = ["-g"],
        host_system_name = "x86_64-linux-gnu",
        link_flags = target + [
            "-nostartfiles",
            "--specs=nano.specs",
            "-Wl,--gc-sections",
        ],
        opt_compile_flags = [
            "-Os",
            "-DNDEBUG",
        ],
        supports_start_end_lib = False,
        # Last on the command line, after Bazel's -fPIC (which it adds in dbg and fastbuild): the
        # image is linked at fixed addresses and its linker script places no GOT.
        unfiltered_compile_flags = ["-fno-pic"],
        target_libc = "newlib",
        target_system_name = "arm-none-eabi",
        tool_paths = {
            "ar": "/usr/bin/arm-none-eabi-ar",
            "cpp": "/usr/bin/arm-none-eabi-cpp",
            "dwp": "/bin/false",
            "gcc": "/usr/bin/arm-none-eabi-gcc",
            "gcov": "/usr/bin/arm-none-eabi-gcov",
            "llvm-cov": "/bin/false",  # coverage is not built for the target
            "ld": "/usr/bin/arm-none-eabi-ld",
            "nm": "/usr/bin/arm-none-eabi-nm",
            "objcopy": "/usr/bin/arm-none-eabi-objcopy",
            "objdump": "/usr/bin/arm-none-eabi-objdump",
            "strip": "/usr/bin/arm-none-eabi-strip",
        },
        toolchain_identifier = "arm-none-eabi-" + cpu,
    )
    native.cc_toolchain(
        name = name,
        all_files = ":empty",
        compiler_files = ":empty",
        dwp_files = ":empty",
        linker_files = ":empty",
        objcopy_files = ":empty",
        strip_files = ":empty",
        supports_param_files = 0,
        toolchain_config = name + "_config",
        toolchain_identifier = "arm-none-eabi-" + cpu,
    )
