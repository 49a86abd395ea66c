# berth_embed(TARGET OUTPUT FILES...): writes OUTPUT, a C++ source defining
# berth::embedded_files(), a table of {relative path, contents} for every FILE
# (paths relative to the project root, e.g. "templates/nginx/site.conf.mustache").
# The file is regenerated at build time whenever one of FILES changes.
function(berth_embed target output)
  set(files ${ARGN})
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DROOT=${PROJECT_SOURCE_DIR} -DOUTPUT=${output}
            "-DFILES=${files}" -P ${PROJECT_SOURCE_DIR}/cmake/embed_run.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/embed_run.cmake
    COMMENT "Embedding templates and playbooks"
    VERBATIM)
  add_custom_target(${target} DEPENDS ${output})
endfunction()
