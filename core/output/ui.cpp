#include <core/output/redact.hpp>
#include <core/output/ui.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace berth {

Ui::Ui(bool json, Verbosity verbosity, Color color)
    : json_(json), verbosity_(verbosity), color_(color) {}

void Ui::write(std::FILE* stream, std::string_view line) {
  const auto safe = redact(line);
  std::lock_guard lock(mutex_);
  std::fwrite(safe.data(), 1, safe.size(), stream);
  std::fputc('\n', stream);
  std::fflush(stream);
}

void Ui::out(std::string_view line) {
  if (!json_) write(stdout, line);
}

void Ui::emit_json(const nlohmann::json& document) {
  if (captured_ != nullptr) *captured_ = document;
  else write(stdout, document.dump(2));
}

void Ui::progress(std::string_view line) {
  if (verbosity_ != Verbosity::quiet) write(stderr, line);
}

void Ui::detail(std::string_view line) {
  if (verbosity_ == Verbosity::verbose) write(stderr, line);
}

void Ui::warn(std::string_view line) { write(stderr, yellow("warning: ") + std::string(line)); }

void Ui::error(std::string_view line, std::string_view hint) {
  write(stderr, red("error: ") + std::string(line));
  if (!hint.empty()) write(stderr, dim("hint: ") + std::string(hint));
}

std::string Ui::paint(std::string_view code, std::string_view text) const {
  if (color_ == Color::off) return std::string(text);
  return "\x1b[" + std::string(code) + "m" + std::string(text) + "\x1b[0m";
}

std::string Ui::green(std::string_view text) const { return paint("32", text); }
std::string Ui::yellow(std::string_view text) const { return paint("33", text); }
std::string Ui::red(std::string_view text) const { return paint("31", text); }
std::string Ui::bold(std::string_view text) const { return paint("1", text); }
std::string Ui::dim(std::string_view text) const { return paint("2", text); }

Color detect_color(bool no_color_flag) {
  if (no_color_flag || std::getenv("NO_COLOR") != nullptr) return Color::off;
  return isatty(STDERR_FILENO) ? Color::on : Color::off;
}

}  // namespace berth
