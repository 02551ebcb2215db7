#pragma once
/// JSON (RFC 8259) for small protocol messages, without a heap: JsonObject reads the members of
/// one object in place (the text stays where it is); JsonWriter writes one into a fixed buffer.
/// Made for the iperf3 control messages (iperf3_protocol.h) and anything of that shape.
///
/// The reader validates the whole text once (every value, nested ones included, to a depth of
/// kMaxDepth, with no recursion) and then answers lookups of top-level members by name: booleans,
/// integers that fit in 64 bits, and strings (returned as written, escapes not decoded). Nested
/// objects and arrays are checked and skipped. Work is linear in the text's length per lookup.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace pollstack::net {

namespace json_detail {

/// A cursor over JSON text, each method consuming one grammar element or failing without a
/// promise about where it stopped.
class Scanner {
 public:
  static constexpr std::size_t kMaxDepth = 32;

  explicit constexpr Scanner(std::string_view text) noexcept : text_(text) {}

  constexpr std::size_t position() const noexcept { return pos_; }
  constexpr bool at_end() const noexcept { return pos_ == text_.size(); }
  constexpr char peek() const noexcept { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  constexpr bool take(char c) noexcept {
    if (peek() != c || at_end()) return false;
    ++pos_;
    return true;
  }

  constexpr void whitespace() noexcept {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }

  /// A string; `contents` gets what is between the quotes, as written.
  constexpr bool string(std::string_view* contents = nullptr) noexcept {
    if (!take('"')) return false;
    const std::size_t start = pos_;
    while (!at_end()) {
      const char c = text_[pos_];
      if (c == '"') {
        if (contents != nullptr) *contents = text_.substr(start, pos_ - start);
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return false;  // control characters must be escaped
      ++pos_;
      if (c != '\\') continue;
      if (at_end()) return false;
      const char e = text_[pos_++];
      if (e == 'u') {
        for (int i = 0; i < 4; ++i) {
          if (!hex_digit(peek())) return false;
          ++pos_;
        }
      } else if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') {
        return false;
      }
    }
    return false;  // unterminated
  }

  /// A number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  constexpr bool number() noexcept {
    (void)take('-');
    if (take('0')) {
      // a leading zero stands alone
    } else if (digit(peek())) {
      while (digit(peek())) ++pos_;
    } else {
      return false;
    }
    if (take('.')) {
      if (!digit(peek())) return false;
      while (digit(peek())) ++pos_;
    }
    if (take('e') || take('E')) {
      if (!take('+')) (void)take('-');
      if (!digit(peek())) return false;
      while (digit(peek())) ++pos_;
    }
    return true;
  }

  constexpr bool literal(std::string_view word) noexcept {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  constexpr bool scalar() noexcept {
    switch (peek()) {
      case '"': return string();
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }

  /// `"key" :` inside an object, whitespace around.
  constexpr bool member_name(std::string_view* name = nullptr) noexcept {
    whitespace();
    if (!string(name)) return false;
    whitespace();
    return take(':');
  }

  /// Any value, containers included, iteratively: an explicit stack of the open brackets.
  constexpr bool value() noexcept {
    std::array<char, kMaxDepth> open{};
    std::size_t depth = 0;
    for (;;) {
      whitespace();
      bool complete = false;  // a whole value was just consumed
      if (peek() == '{' || peek() == '[') {
        if (depth == kMaxDepth) return false;
        const char bracket = text_[pos_++];
        open[depth++] = bracket;
        whitespace();
        if (take(bracket == '{' ? '}' : ']')) {
          --depth;
          complete = true;
        } else if (bracket == '{' && !member_name()) {
          return false;
        }
      } else {
        if (!scalar()) return false;
        complete = true;
      }
      // After a complete value: close containers, or move to the next element.
      while (complete) {
        if (depth == 0) return true;
        whitespace();
        const char bracket = open[depth - 1];
        if (take(',')) {
          if (bracket == '{' && !member_name()) return false;
          complete = false;  // the next element's value follows
        } else if (take(bracket == '{' ? '}' : ']')) {
          --depth;
        } else {
          return false;
        }
      }
    }
  }

 private:
  static constexpr bool digit(char c) noexcept { return c >= '0' && c <= '9'; }
  static constexpr bool hex_digit(char c) noexcept {
    return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace json_detail

/// One JSON object, validated, read in place: the text must outlive it.
class JsonObject {
 public:
  /// The text as one object (whitespace around it allowed), or nullopt if it is anything else or
  /// not valid JSON.
  static constexpr std::optional<JsonObject> parse(std::string_view text) noexcept {
    json_detail::Scanner s(text);
    s.whitespace();
    if (s.peek() != '{') return std::nullopt;
    if (!s.value()) return std::nullopt;
    s.whitespace();
    if (!s.at_end()) return std::nullopt;
    return JsonObject(text);
  }

  constexpr bool has(std::string_view name) const noexcept { return member(name).has_value(); }

  constexpr std::optional<bool> boolean(std::string_view name) const noexcept {
    const std::optional<std::string_view> v = member(name);
    if (v == "true") return true;
    if (v == "false") return false;
    return std::nullopt;
  }

  /// An integer member (no fraction or exponent) that fits in int64_t.
  constexpr std::optional<std::int64_t> integer(std::string_view name) const noexcept {
    const std::optional<std::string_view> v = member(name);
    if (!v || v->empty()) return std::nullopt;
    const bool negative = (*v)[0] == '-';
    std::uint64_t magnitude = 0;
    const std::uint64_t limit = negative ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
    for (std::size_t i = negative ? 1 : 0; i < v->size(); ++i) {
      const char c = (*v)[i];
      if (c < '0' || c > '9') return std::nullopt;
      const auto d = static_cast<std::uint64_t>(c - '0');
      if (magnitude > (limit - d) / 10) return std::nullopt;
      magnitude = magnitude * 10 + d;
    }
    if (negative) return magnitude == (std::uint64_t{1} << 63) ? INT64_MIN : -static_cast<std::int64_t>(magnitude);
    return static_cast<std::int64_t>(magnitude);
  }

  /// A string member, as written between its quotes (escapes not decoded).
  constexpr std::optional<std::string_view> string(std::string_view name) const noexcept {
    const std::optional<std::string_view> v = member(name);
    if (!v || v->size() < 2 || (*v)[0] != '"') return std::nullopt;
    return v->substr(1, v->size() - 2);
  }

  /// The text of a top-level member's value (the first one with that name), or nullopt.
  constexpr std::optional<std::string_view> member(std::string_view name) const noexcept {
    json_detail::Scanner s(text_);
    s.whitespace();
    (void)s.take('{');
    s.whitespace();
    if (s.take('}')) return std::nullopt;
    for (;;) {
      std::string_view key;
      (void)s.member_name(&key);
      s.whitespace();
      const std::size_t start = s.position();
      (void)s.value();  // validated by parse()
      if (key == name) return text_.substr(start, s.position() - start);
      s.whitespace();
      if (!s.take(',')) return std::nullopt;
    }
  }

 private:
  explicit constexpr JsonObject(std::string_view text) noexcept : text_(text) {}
  std::string_view text_;
};

/// Writes one JSON value into a fixed buffer: objects, arrays, and members or elements of them.
/// Commas are placed for the caller. Past the buffer's end it stops writing and ok() turns false.
class JsonWriter {
 public:
  explicit JsonWriter(std::span<char> out) noexcept : out_(out) {}

  JsonWriter& begin_object() noexcept { return open('{'); }
  JsonWriter& end_object() noexcept { return close('}'); }
  JsonWriter& begin_array() noexcept { return open('['); }
  JsonWriter& end_array() noexcept { return close(']'); }

  /// A member's name inside an object; its value follows.
  JsonWriter& key(std::string_view name) noexcept {
    separate();
    quoted(name);
    put(':');
    after_key_ = true;
    return *this;
  }

  JsonWriter& value(std::int64_t n) noexcept {
    separate();
    char digits[20];
    std::size_t count = 0;
    std::uint64_t magnitude = n < 0 ? 0 - static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n);
    do {
      digits[count++] = static_cast<char>('0' + magnitude % 10);
      magnitude /= 10;
    } while (magnitude != 0);
    if (n < 0) put('-');
    while (count > 0) put(digits[--count]);
    return *this;
  }
  /// `units` / 10^places as a decimal fraction: decimal(1500000, 6) writes 1.500000.
  JsonWriter& decimal(std::uint64_t units, unsigned places) noexcept {
    std::uint64_t scale = 1;
    for (unsigned i = 0; i < places && i < 19; ++i) scale *= 10;
    (void)value(static_cast<std::int64_t>(units / scale));
    if (places == 0) return *this;
    put('.');
    std::uint64_t fraction = units % scale;
    for (std::uint64_t digit = scale / 10; digit > 0; digit /= 10) {
      put(static_cast<char>('0' + fraction / digit));
      fraction %= digit;
    }
    return *this;
  }
  JsonWriter& value(bool b) noexcept {
    separate();
    text(b ? "true" : "false");
    return *this;
  }
  JsonWriter& value(std::string_view s) noexcept {
    separate();
    quoted(s);
    return *this;
  }

  bool ok() const noexcept { return !overflow_ && depth_ == 0; }
  std::size_t size() const noexcept { return size_; }
  std::string_view view() const noexcept { return {out_.data(), size_}; }

 private:
  static constexpr std::size_t kMaxDepth = json_detail::Scanner::kMaxDepth;

  JsonWriter& open(char bracket) noexcept {
    separate();
    put(bracket);
    if (depth_ == kMaxDepth) {
      overflow_ = true;
    } else {
      first_[depth_++] = true;
    }
    return *this;
  }
  JsonWriter& close(char bracket) noexcept {
    put(bracket);
    if (depth_ == 0) {
      overflow_ = true;
    } else {
      --depth_;
    }
    return *this;
  }
  // A comma before every element but the first of its container, and none after a member's name.
  void separate() noexcept {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (depth_ == 0) return;
    if (!first_[depth_ - 1]) put(',');
    first_[depth_ - 1] = false;
  }
  void quoted(std::string_view s) noexcept {
    put('"');
    for (char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        put('\\');
        put(c);
      } else if (u < 0x20) {
        constexpr char kHex[] = "0123456789abcdef";
        text("\\u00");
        put(kHex[u >> 4]);
        put(kHex[u & 0xf]);
      } else {
        put(c);
      }
    }
    put('"');
  }
  void text(std::string_view s) noexcept {
    for (char c : s) put(c);
  }
  void put(char c) noexcept {
    if (size_ == out_.size()) {
      overflow_ = true;
      return;
    }
    out_[size_++] = c;
  }

  std::span<char> out_;
  std::size_t size_ = 0;
  std::array<bool, kMaxDepth> first_{};
  std::size_t depth_ = 0;
  bool after_key_ = false;
  bool overflow_ = false;
};

}  // namespace pollstack::net
