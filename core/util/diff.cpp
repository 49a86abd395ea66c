#include <core/util/diff.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace berth::util {
namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    if (end == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

struct Edit {
  char op;  // ' ', '-', '+'
  std::string_view line;
};

std::vector<Edit> edits(const std::vector<std::string_view>& a,
                        const std::vector<std::string_view>& b) {
  const auto n = a.size(), m = b.size();
  // lcs[i][j]: length of the LCS of a[i..] and b[j..].
  std::vector<std::vector<unsigned>> lcs(n + 1, std::vector<unsigned>(m + 1, 0));
  for (auto i = n; i-- > 0;) {
    for (auto j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::vector<Edit> out;
  std::size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      out.push_back({' ', a[i++]});
      ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push_back({'-', a[i++]});
    } else {
      out.push_back({'+', b[j++]});
    }
  }
  return out;
}

}  // namespace

std::string unified_diff(std::string_view before, std::string_view after,
                         std::string_view before_name, std::string_view after_name) {
  if (before == after) return {};
  const auto a = split_lines(before);
  const auto b = split_lines(after);
  std::string out = fmt::format("--- {}\n+++ {}\n", before_name, after_name);
  if (a.size() > 5000 || b.size() > 5000) {
    return out + fmt::format("@@ {} lines -> {} lines (too long to diff) @@\n", a.size(), b.size());
  }
  const auto all = edits(a, b);
  constexpr std::size_t context = 3;
  std::size_t k = 0;
  while (k < all.size()) {
    // Find the next change, then grow a hunk around it while changes are close.
    while (k < all.size() && all[k].op == ' ') ++k;
    if (k == all.size()) break;
    auto begin = k >= context ? k - context : 0;
    auto end = k;
    while (end < all.size()) {
      if (all[end].op != ' ') {
        ++end;
        continue;
      }
      auto run = end;
      while (run < all.size() && all[run].op == ' ') ++run;
      if (run == all.size() || run - end > 2 * context) {
        end = std::min(all.size(), end + context);
        break;
      }
      end = run;
    }
    // Line numbers of the hunk's first line in a and b.
    std::size_t a_line = 1, b_line = 1, a_count = 0, b_count = 0;
    for (std::size_t x = 0; x < begin; ++x) {
      if (all[x].op != '+') ++a_line;
      if (all[x].op != '-') ++b_line;
    }
    for (auto x = begin; x < end; ++x) {
      if (all[x].op != '+') ++a_count;
      if (all[x].op != '-') ++b_count;
    }
    out += fmt::format("@@ -{},{} +{},{} @@\n", a_count ? a_line : a_line - 1, a_count,
                       b_count ? b_line : b_line - 1, b_count);
    for (auto x = begin; x < end; ++x) {
      out += all[x].op;
      out += all[x].line;
      out += '\n';
    }
    k = end;
  }
  return out;
}

}  // namespace berth::util
