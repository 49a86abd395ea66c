#pragma once

#include <nlohmann/json_fwd.hpp>

#include <mutex>
#include <string>
#include <string_view>

namespace berth {

enum class Verbosity { quiet, normal, verbose };
enum class Color { off, on };

// How a run talks to its user. Results go to stdout (a table, or one JSON document
// with --json); progress, warnings and errors go to stderr, so that
// `berth ... --json | jq` always sees valid JSON. Every line passes through redact()
// first. Safe to call from several threads (hosts run in parallel).
class Ui {
 public:
  Ui(bool json, Verbosity verbosity, Color color);

  bool json() const noexcept { return json_; }
  Verbosity verbosity() const noexcept { return verbosity_; }

  // A result line on stdout; ignored in --json mode (the JSON document carries it).
  void out(std::string_view line);
  // The one JSON document of a --json run, on stdout (or into capture_json's target).
  void emit_json(const nlohmann::json& document);
  // From now on, emit_json stores the document in `*into` instead of printing it (a
  // command that runs another, and puts that one's document into its own); null: print.
  void capture_json(nlohmann::json* into) noexcept { captured_ = into; }
  // Progress on stderr ("host: step..."); hidden by -q.
  void progress(std::string_view line);
  // Details on stderr, shown only with -v.
  void detail(std::string_view line);
  // A warning on stderr, always shown.
  void warn(std::string_view line);
  // An error on stderr, always shown.
  void error(std::string_view line, std::string_view hint = {});

  // `text` wrapped in an ANSI color when colors are on.
  std::string green(std::string_view text) const;
  std::string yellow(std::string_view text) const;
  std::string red(std::string_view text) const;
  std::string bold(std::string_view text) const;
  std::string dim(std::string_view text) const;

 private:
  std::string paint(std::string_view code, std::string_view text) const;
  void write(std::FILE* stream, std::string_view line);

  nlohmann::json* captured_ = nullptr;
  bool json_;
  Verbosity verbosity_;
  Color color_;
  std::mutex mutex_;
};

// Whether colors should be used: off with --no-color, when NO_COLOR is set (any
// value), or when stderr is not a terminal.
Color detect_color(bool no_color_flag);

}  // namespace berth
