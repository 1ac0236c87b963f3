"""Sends one message with Python's smtplib (a real SMTP client) for the receiver
tests: python3 smtp_client.py smtp|lmtp|starttls HOST PORT FROM TO MESSAGE_FILE.
Prints the server's final reply and exits 0 if every recipient was accepted."""
import smtplib
import ssl
import sys

mode, host, port, sender, rcpt, path = sys.argv[1:7]
data = open(path, "rb").read()
if mode == "lmtp":
    client = smtplib.LMTP(host, int(port), timeout=20)
else:
    client = smtplib.SMTP(host, int(port), timeout=20)
client.ehlo("client.test")
if mode == "starttls":
    if not client.has_extn("starttls"):
        print("no STARTTLS offered")
        sys.exit(2)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    client.starttls(context=ctx)
    client.ehlo("client.test")
refused = client.sendmail(sender, rcpt.split(","), data)
print("refused", refused)
client.quit()
sys.exit(1 if refused else 0)
