"""Scores Rebound's and Sisimai's verdicts against the labels of an evaluation set.

Sisimai's reason names are mapped onto our questions the way a Sisimai user would read
them: hard bounce = userunknown/hostunknown/hasmoved/notaccept on a permanent reply;
sender-caused = a reason that names the sender's content, authentication, reputation or
rate; category by the reason's usual meaning.
"""
import json
import sys

HARD = {"userunknown", "hostunknown", "hasmoved", "notaccept"}
SENDER = {"blocked", "spamdetected", "policyviolation", "rejected", "securityerror",
          "virusdetected", "authfailure", "badreputation", "requireptr", "speeding",
          "ratelimited", "contenterror", "notcompliantrfc", "failedstarttls", "mesgtoobig"}
TECHNICAL = {"toomanyconn", "systemerror", "systemfull", "networkerror", "expired",
             "mailererror", "syntaxerror", "speeding", "ratelimited"}
OTHER = {"undefined", "onhold", "delivered", "vacation", "feedback"}


def transient(reply):
    r = reply.lstrip()
    return r[:1] == "4"


def sisimai_verdict(reason, reply):
    hard = reason in HARD and not transient(reply)
    if reason in HARD:
        cat = "hard" if hard else "soft"
    elif reason in TECHNICAL:
        cat = "technical"
    elif reason in OTHER:
        cat = "other"
    else:
        cat = "soft"
    return {"suppress": hard, "sender": reason in SENDER, "category": cat}


def main(set_path, ours_path, sisimai_path):
    rows = [l.rstrip("\n").split("\t") for l in open(set_path, encoding="utf-8").readlines()[1:] if l.strip()]
    ours = [json.loads(l) for l in open(ours_path, encoding="utf-8")]
    theirs = [l.strip() for l in open(sisimai_path, encoding="utf-8")]
    assert len(rows) == len(ours) == len(theirs), (len(rows), len(ours), len(theirs))
    score = {"rebound": [0, 0, 0, 0], "sisimai": [0, 0, 0, 0]}  # suppress, sender hit, category, senders
    n = len(rows)
    for row, o, t in zip(rows, ours, theirs):
        reply, _host, cat, _reason, scope, supp = row[:6]
        want_supp = supp == "true"
        want_sender = scope == "sender"
        s = sisimai_verdict(t, reply)
        for name, got in (("rebound", {"suppress": o["suppress"], "sender": o["scope"] == "sender", "category": o["category"]}), ("sisimai", s)):
            sc = score[name]
            sc[0] += got["suppress"] == want_supp
            sc[2] += got["category"] == cat
            if want_sender:
                sc[3] += 1
                sc[1] += got["sender"]
    print(f"evaluation set: {n} replies, {score['rebound'][3]} sender-caused")
    print(f"{'':10} {'suppress right':>15} {'sender recognised':>18} {'category right':>15}")
    for name, sc in score.items():
        print(f"{name:10} {100*sc[0]/n:14.1f}% {100*sc[1]/max(sc[3],1):17.1f}% {100*sc[2]/n:14.1f}%")


if __name__ == "__main__":
    main(*sys.argv[1:4])
