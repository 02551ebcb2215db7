#include "benchmarks/full_path/variants.h"

#include <array>

namespace pollstack::full_path {
namespace {

std::size_t no_state() { return 0; }
std::size_t state_machine_state() { return sizeof(net::UdpSend); }

constexpr std::array<Variant, 6> kVariants{{
    {"sync", &bench::sync_send, &bench::sync_receive, &no_state},
    {"state_machine", &bench::state_machine_send, &bench::state_machine_receive, &state_machine_state},
    {"coroutine", &coroutine_send, &coroutine_receive, &coroutine_send_state_bytes},
    {"arena_coroutine", &arena_coroutine_send, &arena_coroutine_receive, &arena_coroutine_send_state_bytes},
    {"boxed", &boxed_send, &boxed_receive, &boxed_send_state_bytes},
    {"callback", &callback_send, &callback_receive, &callback_send_state_bytes},
}};

}  // namespace

std::span<const Variant> variants() { return kVariants; }

}  // namespace pollstack::full_path
