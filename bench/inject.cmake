# Used by bench/run_all.sh while the top-level CMakeLists.txt has no add_subdirectory(bench):
#   cmake -S . -B build-bench -DCMAKE_PROJECT_rahnama_INCLUDE=<repo>/bench/inject.cmake
# Runs right after project(rahnama) and defers include(bench/CMakeLists.txt) to the end of the
# top-level file, when the project's own targets (bot_intents, bot_content, ...) exist.
cmake_language(EVAL CODE
  "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL include [[${CMAKE_CURRENT_LIST_DIR}/CMakeLists.txt]])")
