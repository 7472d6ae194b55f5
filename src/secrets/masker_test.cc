#include "secrets/masker.h"

#include <gtest/gtest.h>

namespace stageline::secrets {
namespace {

TEST(SecretMasker, ReplacesEverySecretInOneChunk) {
  SecretMasker m({"hunter2", "s3cr3t"});
  std::string out = m.feed("user hunter2 key s3cr3t and hunter2\n") + m.flush();
  EXPECT_EQ(out, "user *** key *** and ***\n");
}

TEST(SecretMasker, MasksASecretSplitAcrossWritesAtEveryPosition) {
  const std::string secret = "correct-horse";
  const std::string text = "before " + secret + " after";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    SecretMasker m({secret});
    std::string out = m.feed(text.substr(0, cut));
    EXPECT_EQ(out.find("correct-h"), std::string::npos);
    out += m.feed(text.substr(cut));
    out += m.flush();
    EXPECT_EQ(out, "before *** after") << "cut at " << cut;
  }
}

TEST(SecretMasker, MasksASecretFedOneByteAtATime) {
  SecretMasker m({"abcdef"});
  std::string out;
  for (char c : std::string("xxabcdefyyabcdeabcdef")) {
    std::string piece = m.feed(std::string(1, c));
    EXPECT_EQ(piece.find("abcdef"), std::string::npos);
    out += piece;
  }
  out += m.flush();
  EXPECT_EQ(out, "xx***yyabcde***");
}

TEST(SecretMasker, HoldsBackLessThanTheLongestSecret) {
  SecretMasker m({"abcdef", "xy"});
  EXPECT_EQ(m.feed("123abcde"), "123");
  EXPECT_EQ(m.held(), 5u);
  EXPECT_EQ(m.feed("Z"), "abcdeZ");
  EXPECT_EQ(m.held(), 0u);
  EXPECT_EQ(m.feed("no secret here"), "no secret here");
}

TEST(SecretMasker, PrefersTheLongerOfTwoSecretsThatShareAPrefix) {
  SecretMasker m({"abc", "abcdef"});
  std::string out = m.feed("abc");
  out += m.feed("def abc.");
  out += m.flush();
  EXPECT_EQ(out, "*** ***.");
}

TEST(SecretMasker, FlushReleasesAPartialSecretAsItIs) {
  SecretMasker m({"abcdef"});
  EXPECT_EQ(m.feed("say abc"), "say ");
  EXPECT_EQ(m.flush(), "abc");
}

TEST(SecretMasker, IgnoresEmptySecretsAndPassesTextThroughWithoutAny) {
  SecretMasker m({"", ""});
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.feed("abc"), "abc");
  EXPECT_EQ(m.mask("abc"), "abc");
}

TEST(SecretMasker, MaskMasksAWholeLine) {
  SecretMasker m({"p@ss", "multi\nline"});
  EXPECT_EQ(m.mask("[Container] Running command echo p@ss"),
            "[Container] Running command echo ***");
  EXPECT_EQ(m.feed("a multi\nline b") + m.flush(), "a *** b");
}

}  // namespace
}  // namespace stageline::secrets
