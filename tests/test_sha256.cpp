#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sha256.hpp"

namespace {
std::string digest(const std::string& s) {
  return pfrt::convert::sha256_hex(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
}  // namespace

TEST_CASE("sha256 matches the FIPS 180-4 test vectors") {
  CHECK(digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(digest(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // 55, 56 and 64 bytes straddle the padding boundaries.
  CHECK(digest(std::string(55, 'x')) != digest(std::string(56, 'x')));
  CHECK(digest(std::string(64, 'a')) == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}
