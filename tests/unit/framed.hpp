#pragma once

// Test helpers: framed output as a server sends it, with the fixed token "berth"
// (util/frame.hpp), so that fixtures read "@@berth SUBJECT FIELD LENGTH".

#include <core/remote.hpp>
#include <core/util/frame.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace berth::test {

// One record as a script prints it with `rec`.
inline std::string record(const std::string& subject, const std::string& field, const std::string& value) {
  return "@@berth " + subject + " " + field + " " + std::to_string(value.size()) + "\n" + value + "\n";
}

// `output` read as run_script reads it; throws when its framing is broken.
inline ScriptResult framed(const std::string& output, int exit_status = 0) {
  const auto read = util::read_framed(output, util::Frame("berth"));
  if (!read) throw std::runtime_error("broken fixture: " + read.error());
  ScriptResult result;
  result.exit_status = exit_status;
  result.records = read->records;
  result.ended = read->ended;
  result.out = read->text;
  return result;
}

// The records of `output` (framed above).
inline std::vector<util::Record> records(const std::string& output) { return framed(output).records; }

// A db script's stdout as command() reports it: one "db output" record holding `text`.
inline std::vector<util::Record> db_output(const std::string& text) { return records(record("db", "output", text)); }

}  // namespace berth::test
