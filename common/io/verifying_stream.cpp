// SPDX-License-Identifier: Apache-2.0
#include <common/io/verifying_stream.hpp>

namespace common::io {

Result<void> check_content(std::string_view what, const Expected& want, const digest::Digest& got, std::uint64_t got_size)
{
    if (got_size != want.size)
        return fail(Errc::size_mismatch, "{}: size mismatch: got {} bytes, want {} bytes", what, got_size, want.size);
    if (got != want.digest)
        return fail(Errc::digest_mismatch, "{}: sha256 mismatch: got {}, want {}", what, got.str(), want.digest.str());
    return {};
}

VerifyingSink::VerifyingSink(Sink* out, std::optional<Expected> want, std::string what)
    : m_out(out), m_want(want), m_what(std::move(what))
{
}

Result<void> VerifyingSink::write(std::span<const std::byte> data)
{
    if (m_want && m_count + data.size() > m_want->size)
        return fail(Errc::size_mismatch, "{}: size mismatch: more than the expected {} bytes", m_what, m_want->size);
    m_hash.update(data);
    m_count += data.size();
    return m_out ? m_out->write(data) : Result<void>{};
}

Result<digest::FileDigest> VerifyingSink::check()
{
    digest::FileDigest got{m_hash.finish(), m_count};
    if (m_want) TRY_VOID(check_content(m_what, *m_want, got.digest, got.size));
    return got;
}

Result<std::size_t> VerifyingSource::read(std::span<std::byte> out)
{
    if (m_checked) return 0;
    std::uint64_t left = m_want.size - m_count;
    if (left > 0) {
        auto n = m_in.read(out.first(static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), left))));
        if (!n) return fail(n.error());
        if (*n > 0) {
            m_hash.update(out.first(*n));
            m_count += *n;
            return *n;
        }
    } else {
        // Every expected byte came: one more byte means the source is longer than it should be.
        std::byte probe[1];
        auto n = m_in.read(probe);
        if (!n) return fail(n.error());
        if (*n > 0)
            return fail(Errc::size_mismatch, "{}: size mismatch: more than the expected {} bytes", m_what, m_want.size);
    }
    m_checked = true;
    TRY_VOID(check_content(m_what, m_want, m_hash.finish(), m_count));
    return 0;
}

Result<digest::FileDigest> hash_all(Source& in)
{
    VerifyingSink sink;
    TRY_VOID(copy(in, sink));
    return digest::FileDigest{sink.finish(), sink.count()};
}

} // namespace common::io
