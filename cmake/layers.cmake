# The layering of ARCHITECTURE.md, checked on every build: a source file that
# includes what its folder may not depend on fails the build, naming the file, the
# line and the rule. Run by the berth_layers target (cmake -P), which every library
# target depends on.
#
# Rules (a folder prefix, then the includes it may not have):
#   core/util/       nothing of berth outside core/util/ but the error type
#                    (core/error.hpp, core/exit_code.hpp)
#   core/            cli/, provisioners/
#   provisioners/    cli/
#   libssh           only in core/ssh/*.cpp and its internal connect_steps.hpp
#   libcurl          only in core/health/
#   toml++           only in core/manifest/
#   cli/             <libssh/, <curl/, <toml++/ (through core/ only)
cmake_minimum_required(VERSION 3.25)
file(GLOB_RECURSE sources RELATIVE ${ROOT}
  ${ROOT}/core/*.cpp ${ROOT}/core/*.hpp ${ROOT}/provisioners/*.cpp ${ROOT}/provisioners/*.hpp
  ${ROOT}/cli/*.cpp ${ROOT}/cli/*.hpp)
set(violations "")
foreach(source ${sources})
  file(STRINGS ${ROOT}/${source} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  foreach(line ${lines})
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]*)[>\"].*" "\\1" header "${line}")
    set(rule "")
    if(source MATCHES "^core/util/" AND header MATCHES "^(core|cli|provisioners)/"
       AND NOT header MATCHES "^core/(util/|error\\.hpp$|exit_code\\.hpp$)")
      set(rule "core/util/ knows nothing of berth")
    elseif(source MATCHES "^core/" AND header MATCHES "^(cli|provisioners)/")
      set(rule "core/ depends on neither cli/ nor provisioners/")
    elseif(source MATCHES "^provisioners/" AND header MATCHES "^cli/")
      set(rule "provisioners/ do not depend on cli/")
    elseif(header MATCHES "^libssh/" AND NOT source MATCHES "^core/ssh/(.*\\.cpp|connect_steps\\.hpp)$")
      set(rule "only core/ssh/ talks to libssh, and not in its public headers")
    elseif(header MATCHES "^curl/" AND NOT source MATCHES "^core/health/")
      set(rule "only core/health/ talks to libcurl")
    elseif(header MATCHES "^toml\\+\\+/" AND NOT source MATCHES "^core/manifest/")
      set(rule "only core/manifest/ reads TOML")
    endif()
    if(rule)
      string(APPEND violations "  ${source}: #include <${header}>: ${rule}\n")
    endif()
  endforeach()
endforeach()
if(violations)
  message(FATAL_ERROR "wrong-way includes (ARCHITECTURE.md, cmake/layers.cmake):\n${violations}")
endif()
file(WRITE ${STAMP} "layers ok\n")
