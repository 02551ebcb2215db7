// JsonObject and JsonWriter (layers/services/json.h): what parses and what does not (RFC 8259's
// grammar, nesting bounded), member lookup by name and type, and writing with commas and escapes.
#include <doctest/doctest.h>

#include <array>
#include <string>

#include "layers/services/json.h"

namespace pollstack::net {
namespace {

TEST_CASE("json: iperf3's parameters parse and their members read by type") {
  const std::string text =
      R"({"tcp":true,"omit":0,"time":10,"num":0,"blockcount":0,"parallel":2,"reverse":true,)"
      R"("len":131072,"pacing_timer":1000,"client_version":"3.12","extra":{"a":[1,2,{"b":null}],"c":-1.5e3}})";
  const std::optional<JsonObject> j = JsonObject::parse(text);
  REQUIRE(j.has_value());
  CHECK(j->boolean("tcp") == true);
  CHECK(j->boolean("reverse") == true);
  CHECK(j->integer("parallel") == 2);
  CHECK(j->integer("len") == 131072);
  CHECK(j->string("client_version") == "3.12");
  CHECK(j->member("extra") == R"({"a":[1,2,{"b":null}],"c":-1.5e3})");
  CHECK_FALSE(j->has("udp"));           // absent
  CHECK_FALSE(j->boolean("time"));      // present, not a boolean
  CHECK_FALSE(j->integer("client_version"));
  CHECK_FALSE(j->string("parallel"));
  CHECK_FALSE(j->has("a"));  // nested members are not top-level ones
}

TEST_CASE("json: whitespace, escapes, empty containers, integer limits") {
  const std::optional<JsonObject> j = JsonObject::parse(
      " \n{ \"s\" : \"a\\\"b\\\\c\\u00e9\\n\" , \"e\":{}, \"a\":[ ], \"max\":9223372036854775807,"
      "\"min\":-9223372036854775808, \"over\":9223372036854775808, \"f\":1.0 }\t");
  REQUIRE(j.has_value());
  CHECK(j->string("s") == R"(a\"b\\c\u00e9\n)");  // as written: escapes are not decoded
  CHECK(j->member("e") == "{}");
  CHECK(j->member("a") == "[ ]");
  CHECK(j->integer("max") == INT64_MAX);
  CHECK(j->integer("min") == INT64_MIN);
  CHECK_FALSE(j->integer("over"));  // out of range
  CHECK_FALSE(j->integer("f"));     // a fraction is not an integer
  CHECK(JsonObject::parse("{}").has_value());
}

TEST_CASE("json: what is refused") {
  for (const char* bad : {"", "[]", "1", "\"x\"", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}",
                          "{\"a\":1 \"b\":2}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":tru}",
                          "{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":\"unterminated}", "{\"a\":\"tab\there\"}",
                          "{\"a\":[1,2}", "{\"a\":{\"b\":1]}", "{\"a\":1}x", "{\"a\":1}{}", "{a:1}", "{'a':1}"}) {
    CAPTURE(bad);
    CHECK_FALSE(JsonObject::parse(bad).has_value());
  }
}

TEST_CASE("json: nesting is bounded without recursion") {
  std::string deep = "{\"a\":";
  for (int i = 0; i < 30; ++i) deep += "[";
  for (int i = 0; i < 30; ++i) deep += "]";
  deep += "}";
  CHECK(JsonObject::parse(deep).has_value());  // 31 levels
  std::string deeper = "{\"a\":";
  for (int i = 0; i < 40; ++i) deeper += "[";
  for (int i = 0; i < 40; ++i) deeper += "]";
  deeper += "}";
  CHECK_FALSE(JsonObject::parse(deeper).has_value());
  std::string bomb(100000, '[');  // no stack to exhaust
  CHECK_FALSE(JsonObject::parse("{\"a\":" + bomb).has_value());
}

TEST_CASE("json: the writer places commas, escapes strings, and reads back") {
  std::array<char, 256> out{};
  JsonWriter w(out);
  w.begin_object();
  w.key("n").value(std::int64_t{-42});
  w.key("b").value(true);
  w.key("s").value(std::string_view("q\"\\\x01"));
  w.key("t").decimal(10'000'123, 6);
  w.key("list").begin_array().value(std::int64_t{1}).begin_object().end_object().value(false).end_array();
  w.end_object();
  REQUIRE(w.ok());
  CHECK(w.view() == R"({"n":-42,"b":true,"s":"q\"\\\u0001","t":10.000123,"list":[1,{},false]})");
  const std::optional<JsonObject> j = JsonObject::parse(w.view());
  REQUIRE(j.has_value());
  CHECK(j->integer("n") == -42);
  CHECK(j->member("t") == "10.000123");
}

TEST_CASE("json: the writer reports a buffer too small, and unbalanced brackets") {
  std::array<char, 8> small{};
  JsonWriter w(small);
  w.begin_object().key("long name").value(std::int64_t{1}).end_object();
  CHECK_FALSE(w.ok());
  CHECK(w.size() == small.size());  // nothing past the end
  std::array<char, 16> out{};
  JsonWriter open(out);
  open.begin_object();
  CHECK_FALSE(open.ok());
}

}  // namespace
}  // namespace pollstack::net
