#!/usr/bin/env python3
"""Prints the headers the official Kingdee SDK (kingdee-cdp-webapi-sdk 8.2.0) sends for one
request, with time frozen, as a JSON list of [name, value] pairs in the SDK's order.

usage: signed_headers.py URL ACCT_ID USER APP_ID APP_SECRET LCID ORG_NUM UNIX_SECONDS
"""
import json
import sys
import time

from k3cloud_webapi_sdk.main import K3CloudApiSdk


def main(argv):
    if len(argv) != 9:
        print(__doc__, file=sys.stderr)
        return 2
    url, acct, user, app_id, app_secret, lcid, org_num, ts = argv[1:]
    server = url[: url.index("/", 10) + 1] if "/" in url[10:] else url
    api = K3CloudApiSdk(server)
    api.InitConfig(acct, user, app_id, app_secret, server, lcid=int(lcid), org_num=int(org_num))
    frozen = float(ts)
    time.time = lambda: frozen  # the SDK reads time.time() for timestamp and nonce
    headers = api.BuildHeader(url)
    print(json.dumps([[k, v] for k, v in headers.items()], ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
