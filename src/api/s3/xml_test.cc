#include "api/s3/xml.h"

#include <gtest/gtest.h>

namespace stageline::api::s3::xml {
namespace {

TEST(Xml, ParsesACompleteMultipartUploadAsTheCliSendsIt) {
  auto doc = parse(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Part><ETag>&quot;abc&quot;</ETag><PartNumber>1</PartNumber></Part>"
      "<Part><ETag>\"def\"</ETag><PartNumber>2</PartNumber></Part>"
      "</CompleteMultipartUpload>");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_EQ(doc->name, "CompleteMultipartUpload");
  auto parts = doc->all("Part");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0]->child_text("ETag"), "\"abc\"");
  EXPECT_EQ(parts[1]->child_text("PartNumber"), "2");
}

TEST(Xml, DecodesEntitiesAndCharacterReferencesAndSkipsComments) {
  auto doc = parse("<a><!-- c --><k>x &amp; &lt;y&gt; &#65;&#x42; &#233;</k><e/></a>");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_EQ(doc->child_text("k"), "x & <y> AB \xC3\xA9");
  EXPECT_NE(doc->child("e"), nullptr);
}

TEST(Xml, RejectsMismatchedTagsTrailingGarbageAndDeepNesting) {
  EXPECT_FALSE(parse("<a><b></a></b>").ok());
  EXPECT_FALSE(parse("<a></a><b/>").ok());
  EXPECT_FALSE(parse("<a>&bogus;</a>").ok());
  EXPECT_FALSE(parse("").ok());
  EXPECT_FALSE(parse("<a").ok());
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  EXPECT_FALSE(parse(deep).ok());
}

TEST(Xml, EscapesTextSoItParsesBack) {
  std::string text = "a<b>&\"c'";
  auto doc = parse(element("K", text));
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->text, text);
}

}  // namespace
}  // namespace stageline::api::s3::xml
