// JSON (layers/services/json.h) and the iperf3 parameters read from it: any text either parses or
// is refused, without a crash, an overread or unbounded recursion; what parses answers lookups
// consistently (a member's value text, put back in an object, parses; an integer read back is in
// range); and any bytes written as a string by JsonWriter parse back as that string's object.
#include <array>
#include <string>
#include <string_view>

#include "layers/services/iperf3_protocol.h"
#include "layers/services/json.h"
#include "tests/fuzz/fuzz_input.h"

using namespace pollstack;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const std::optional<net::JsonObject> j = net::JsonObject::parse(text)) {
    for (std::string_view name : {"tcp", "parallel", "reverse", "time", "streams", "s", "n", "x", ""}) {
      if (const std::optional<std::string_view> v = j->member(name)) {
        const std::string again = "{\"k\":" + std::string(*v) + "}";
        fuzz::require(net::JsonObject::parse(again).has_value(), "a member's value parses on its own");
      }
      (void)j->boolean(name);
      (void)j->integer(name);
      (void)j->string(name);
    }
    net::iperf3::ParamsError why{};
    if (const std::optional<net::iperf3::TestParams> p = net::iperf3::parse_params(text, 4, &why)) {
      fuzz::require(p->streams >= 1 && p->streams <= 4, "accepted parameters ask for 1-4 streams");
    }
  }
  std::array<char, 8192> out{};
  net::JsonWriter w(out);
  w.begin_object().key("s").value(text.substr(0, 1024)).end_object();
  fuzz::require(w.ok(), "1 KiB escaped fits in 8 KiB");
  const std::optional<net::JsonObject> back = net::JsonObject::parse(w.view());
  fuzz::require(back.has_value() && back->string("s").has_value(), "a written string parses back");
  return 0;
}
