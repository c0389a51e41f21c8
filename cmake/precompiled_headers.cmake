# gRPC, protobuf's generated API, GoogleTest and Poco's JSON are most of the compile time of the
# files that include them (10 to 30 s each, and CI builds a clean clone on two cores): each
# target that uses them parses them once, into a precompiled header, instead of once per file.
# Only third-party and generated headers: a change to Lifeboat's own headers rebuilds no more
# than it did.
set(LIFEBOAT_API_HEADERS
  <grpcpp/grpcpp.h>
  [["lifeboat/v1/types.pb.h"]]
  [["lifeboat/v1/agent_service.grpc.pb.h"]]
  [["lifeboat/v1/admin_service.grpc.pb.h"]])

# lifeboat_precompile(TARGET [API] [TESTS] [JSON]): API, gRPC and the generated API; TESTS,
# GoogleTest; JSON, Poco's JSON. (CLI11 gains nothing: lifeboatctl's files spend their time in
# code generation, not parsing.) LIFEBOAT_PRECOMPILE=OFF builds without (to check that every
# file includes what it uses).
option(LIFEBOAT_PRECOMPILE "Precompile the heavy third-party headers" ON)
function(lifeboat_precompile target)
  if(NOT LIFEBOAT_PRECOMPILE)
    return()
  endif()
  cmake_parse_arguments(PARSE_ARGV 1 arg "API;TESTS;JSON" "" "")
  set(headers <string> <vector> <map> <memory> <filesystem>)
  if(arg_API)
    list(APPEND headers ${LIFEBOAT_API_HEADERS})
  endif()
  if(arg_TESTS)
    list(APPEND headers <gtest/gtest.h>)
  endif()
  if(arg_JSON)
    list(APPEND headers <Poco/JSON/Parser.h> <Poco/JSON/Object.h>)
  endif()
  target_precompile_headers(${target} PRIVATE ${headers})
  # With libstdc++ from a precompiled header, GCC 12 no longer keeps to itself its well-known
  # false positives inside <string> (GCC bugs 105329, 105651: `std::string(...) + "literal"`
  # "overflows" the string), and -Werror stops the build on them. Targets without a precompiled
  # header, and a build with LIFEBOAT_PRECOMPILE=OFF, keep these warnings.
  target_compile_options(${target} PRIVATE
    "$<$<CXX_COMPILER_ID:GNU>:-Wno-array-bounds;-Wno-stringop-overflow;-Wno-stringop-overread>")
endfunction()
