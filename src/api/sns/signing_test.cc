#include "api/sns/signing.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "api/sns/message.h"

namespace stageline::sns {
namespace {

namespace fs = std::filesystem;

// One key for the tests that only sign: RSA key generation takes a moment.
const SigningKey& shared_key() {
  static std::unique_ptr<SigningKey> key = [] {
    auto k = SigningKey::generate("sns.test");
    EXPECT_TRUE(k.ok()) << k.status().message();
    return std::move(k.value());
  }();
  return *key;
}

Message notification() {
  Message m;
  m.type = MessageType::kNotification;
  m.message_id = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324";
  m.topic_arn = "arn:aws:sns:us-west-2:123456789012:MyTopic";
  m.subject = "My First Message";
  m.message = "Hello world!";
  m.timestamp = "2012-05-02T00:54:06.655Z";
  m.unsubscribe_url = "http://127.0.0.1:7300/sns/unsubscribe?SubscriptionArn=x";
  m.signing_cert_url = "http://127.0.0.1:7300/sns/SimpleNotificationService-f.pem";
  return m;
}

TEST(SnsSignature, TheNotificationStringToSignIsAwssFieldOrder) {
  EXPECT_EQ(string_to_sign(notification()),
            "Message\nHello world!\n"
            "MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
            "Subject\nMy First Message\n"
            "Timestamp\n2012-05-02T00:54:06.655Z\n"
            "TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n"
            "Type\nNotification\n");
  Message no_subject = notification();
  no_subject.subject.clear();
  EXPECT_EQ(string_to_sign(no_subject).find("Subject"), std::string::npos);
}

TEST(SnsSignature, TheConfirmationStringToSignHasTheSubscribeUrlAndToken) {
  Message m;
  m.type = MessageType::kSubscriptionConfirmation;
  m.message_id = "id";
  m.topic_arn = "arn:aws:sns:us-east-1:1:t";
  m.message = "You have chosen to subscribe";
  m.subscribe_url = "http://h/sns/confirm?Token=abc";
  m.timestamp = "2024-01-01T00:00:00.000Z";
  m.token = "abc";
  EXPECT_EQ(string_to_sign(m),
            "Message\nYou have chosen to subscribe\nMessageId\nid\n"
            "SubscribeURL\nhttp://h/sns/confirm?Token=abc\n"
            "Timestamp\n2024-01-01T00:00:00.000Z\nToken\nabc\n"
            "TopicArn\narn:aws:sns:us-east-1:1:t\nType\nSubscriptionConfirmation\n");
}

TEST(SnsSignature, ASignedMessageVerifiesAgainstTheCertificateAndATamperedOneDoesNot) {
  Message m = notification();
  ASSERT_TRUE(sign(m, shared_key()).ok());
  auto good = verify_signature(shared_key().certificate_pem(), string_to_sign(m), m.signature);
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_TRUE(*good);
  Message tampered = m;
  tampered.message = "Hello world?";
  auto bad =
      verify_signature(shared_key().certificate_pem(), string_to_sign(tampered), m.signature);
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(*bad);
}

TEST(SnsSignature, AnotherKeysCertificateDoesNotVerifyTheSignature) {
  auto other = SigningKey::generate("other");
  ASSERT_TRUE(other.ok());
  Message m = notification();
  ASSERT_TRUE(sign(m, shared_key()).ok());
  auto r = verify_signature((*other)->certificate_pem(), string_to_sign(m), m.signature);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST(SnsSignature, GarbageCertificatesAndSignaturesAreErrorsNotCrashes) {
  EXPECT_EQ(verify_signature("not a pem", "x", "AAAA").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(verify_signature(shared_key().certificate_pem(), "x", "no*base64").status().code(),
            StatusCode::kInvalidArgument);
  auto wrong = verify_signature(shared_key().certificate_pem(), "x", "AAAA");
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(*wrong);
}

TEST(SnsSignature, TheJsonDocumentCarriesSignatureVersion2AndEveryField) {
  Message m = notification();
  m.signature = "c2ln";
  EXPECT_EQ(to_json(m),
            "{\"Type\":\"Notification\",\"MessageId\":\"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\","
            "\"TopicArn\":\"arn:aws:sns:us-west-2:123456789012:MyTopic\","
            "\"Subject\":\"My First Message\",\"Message\":\"Hello world!\","
            "\"Timestamp\":\"2012-05-02T00:54:06.655Z\",\"SignatureVersion\":\"2\","
            "\"Signature\":\"c2ln\","
            "\"SigningCertURL\":\"http://127.0.0.1:7300/sns/SimpleNotificationService-f.pem\","
            "\"UnsubscribeURL\":\"http://127.0.0.1:7300/sns/unsubscribe?SubscriptionArn=x\"}");
  EXPECT_EQ(iso8601_ms(1336020846655), "2012-05-03T04:54:06.655Z");
}

TEST(SnsSigningKey, IsMadeOnFirstStartWithAPrivateKeyFileAndLoadedAfterwards) {
  fs::path dir = fs::temp_directory_path() / ("sns_signing_test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto first = SigningKey::load_or_create(dir / "sns", "stageline");
  ASSERT_TRUE(first.ok()) << first.status().message();
  struct stat st {};
  ASSERT_EQ(::stat((dir / "sns" / "signing-key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ((*first)->fingerprint().size(), 32u);
  auto second = SigningKey::load_or_create(dir / "sns", "stageline");
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ((*second)->fingerprint(), (*first)->fingerprint());
  EXPECT_EQ((*second)->certificate_pem(), (*first)->certificate_pem());
  // What the reloaded key signs, the first certificate verifies.
  auto sig = (*second)->sign("data");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(*verify_signature((*first)->certificate_pem(), "data", *sig));

  fs::remove(dir / "sns" / "signing-cert.pem");
  auto half = SigningKey::load_or_create(dir / "sns", "stageline");
  EXPECT_EQ(half.status().code(), StatusCode::kInvalidArgument);
  std::ofstream(dir / "sns" / "signing-cert.pem") << "garbage";
  EXPECT_FALSE(SigningKey::load_or_create(dir / "sns", "stageline").ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stageline::sns
