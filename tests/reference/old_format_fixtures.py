"""Pickles and files written by filippov before ``filippov.solution`` became a package.

Made once with the code of commit eb0328a (``/work/main`` then), on three small runs:

* ``exact``: ``solve(steepest_descent_flow(slope(0.5), "linf"), [0.6, 0.1], (0, 4))``
  (exact path, linear segments, status 1);
* ``compact``: the same with ``storage="compact"``;
* ``events``: ``solve(steepest_descent_flow(separable_quadratic([1, 2], [0, 0]), "l2"),
  [1, -0.6], (0, 0.5))`` (event path, nodal segments, status 0);
* ``traj``: ``SignGD(step=0.25).run(separable_quadratic([1, 2], [0, 0]), [1, -0.6],
  n_steps=8)`` with its status set to the old code -3 (then: "a step failed") before
  saving and pickling, to check that old trajectory codes are mapped.

Each entry is ``pickle.dumps(obj)`` (``*_pickle``) or the bytes of ``obj.save(path)``
(``*_file``), zlib-compressed and base64-encoded. Decode with :func:`fixture`.
"""

from __future__ import annotations

import base64
import zlib

EXACT_PICKLE = (
    "eNqVVEtv00AQtvNo0pZK5QBCnCJVghaJ0AeIIlolEKAIkx7oBQmQ5SSbjNXYDut11R6Q4NCXtLcOB/gnnMoPQP0L"
    "IPEDoDdOlNl1HqWvqGMpmx3PfPPtzLd+n/p4dcDQJi/W3abbagUr+TBoRsINfJSjT9q+pY5rByc+4DsclwlboLzs"
    "R15rLW9XA87yXtQUrsO5s4bygs1ZNfBDwaOqoCSZ1pEoM34tDtlBy1jHklnBTXyB45ZppdYRBmW6JtZaTKUk6rO4"
    "vRW/TUpzDhcXF58dkOkfyxBY2S7ljLZ90rZf2PumLFuMvaNFpDAiu4qQhWFVEka6Ba3EBsKl7VJxRtvPwmcN8qXw"
    "V1U4+L6rl4NfuwkN9qe9Zr8e3esiGZutMF+ECIZMP1Z/e90yBS4U9mOO0jyJTGJdUxk9WlpDp5Zdv4ZyJGy6Nddv"
    "3CRsrppJXrfKQt1KOewFNWZXWJ2GoTikyrTvUUj5Afeoq80pmkboNnxKMy1zA2WqzhnDiagihzSEUxeMI9yOE+Eu"
    "zMI9y1ChcF9VosCByHffRgy3FKxgKA3ywlg749pCMavHsAfXTz/pSU2EPNyCScukkGmYh7ljJIyYhCJDBR9swUMo"
    "nVb5KeTlUCgcJVyH+kXA8SmmoUzQ5W76JspBO2QNrzO+zFK8OSR3MYkLHa3RburQPFOqawh3qFyGs0bUdDjKZNPx"
    "zhhzDPS70Fn1mNM15od6dsPPXZ85/JHed0jAq0MMVifPQD+qZ41urvTns9tZVUZED7zs1u6cF173mvyGhkSnbusS"
    "we5X4cd/J4Y6wHH8ZbgBvC/QWVS7/IhqO56olkldS/0p9uwYxS7uMomLnw9IUSShZWylyEhdPpm1PRaGToPuz1hP"
    "p7lW4Poix5lTBVbLOSIncvO5mfyUSvaYgIA+BWm26tCXlXRbDSKf7mtIBAz9JMmdtl2/HhBrVY81bHGSWpIx2yun"
    "fUJj1vl/stY/hA=="
)

COMPACT_PICKLE = (
    "eNqdVk+PGzUUn5lkMtndLt1DxRZRiUABLUgbdVUOeygKUpCQCFqhLRKnyppknHjS+RM8niiLqFoOLUTyreZQvgkn"
    "bpwQnwGJLwCfoDzbM9lJ5KTpOpI943m/935+fu/lPan/8seepQZ/axhG4WSSTtuDNJ74A4ayNMpZmCaCX+/qrfvl"
    "znPx0Y/ikTji+yhjKcXIp9S/yNRWY4bCJGSCv5nk8eSijQYg0I7ziIVKSvBriOJBmmSM5gMGurirJAX3kkCLPBc9"
    "66no2n3xkzgXRz275zwVZI+7AbuYYAlxhqdi/rP+WuP2PXF2dvblSxhq6llM9Ofdg7tq/NP59YUcv3UEbHNncEeQ"
    "XbIvTZDrVQOHALFWhoLUmZ+bQDUNulkKKzMv/uv89acczc8W4JMN4FWQVnWgwc0Mj1CcBniNghvcCSueIDdNfljw"
    "s4vVqR5OmXgYJsEGEydVZ/9gdHbNcmpKX2OKaB6tI9wFSdu2laQ7RelwaBCsw8vpvNuyXjFKLWEwM2ixCvKfvMo/"
    "Cz1TP1qj53BOkBTyIj/eknTp5FqxulXSSo+ZtgsvD+bdG9ULK58vsWaqro6pI434t7O8/t0xOtAbkIcIgsCgz9Zn"
    "ai47XMqbmEMWPdNZZEw8hZtuxBV8fy/XS35w5m2QixPrUOxP1hysvKyXxdiYITsyAVGS0nhDUF+mUzhKrhgi9eW8"
    "lIrMMVLXMXJQpWwvA80BUtds67ZdCg8pxq+ZhuYyohSZ6TqabnOJ5hvKqyr2gG+29naBrlMUjP0FRBpbi4Ck71cq"
    "FvnclPROQaOBpwgq9GsU6KXq7gF8Q/HU5U4Xxl2sKtWWzl518lJsNPD0KpEhya77M1GeAwJ3VgmsEnGMKQKa8yT8"
    "Lt+m7ksaScrWiZ5W/rHMBQvwM4qHW+BXD1HgZ4z6xhJmFQVFVfuce1B3+jjSnY0r7zkTD+DRo3iURz4VfD+LwiBM"
    "Rsc4YVT2MMW74LsZ82W35MM2hh4HDizB3BK+fKOxenOiE+Hn3EGJ6DmwxHLxZIxkmIkvynPAFsV+gKkg8vlcPy/6"
    "MNsXpDF+G045viWnd+X0npzel9MHMHFbWbCVgcaqfnKLvENukw/Jx+SY1yDDBHkMdgY5zVIqzvge0qnnDwgGizm0"
    "UeAhc/gdVqJ4Y3PjIemiPBM9mzdRjLPMH2HBb186rjVJw4S14OhgN2j5rMVan7butk/A0QBgJA2gfcQzaE4F34FW"
    "M08YphlQsdSvBtsu9KPDFEhLe9DqsCt3cjsSH8NFZ/IWrqGv/O8vzqGVpRAVi6uAkMHJiBEBrVID9fMwAopNubIQ"
    "qhz3RhiOx+TljY/lvXiFUvEMuOTSK3iqbIy/hs9a6/g+PPZq42/kbX4rJwV1lWQBzPvt/wGk37cH"
)

EVENTS_PICKLE = (
    "eNptVAlQE2cUDpAEUBRQFKwdjFYURrk88KR/FSqjaUEj04paYo4liSa7mN2AF17INa548Ft1cArYaYVaD5CRtgL/"
    "aEWZjtYoKCBSIQGSgLBQj2rR0E0iagffzuzse/ve/7337b5vN/foHj7HbrR3kkqtSk4mUkJIQq2jVAQOaa9lb2Kr"
    "h0J5MGgPTIOBtLOYgvR4XKdJ3hoilhFaLESjU1MqiVYr2QppD7EWkxE4SWl1Mootonn2TEi74nJHSh4UcjJglJMU"
    "ZkERDBQ6CZ0zoNKd5smprcmYrcQ5aT7MyXa8daGdFsPY2NgVg6zZb0IOBaU5UV6c/1krgGyYbW4LVLopR9oglKPe"
    "AgidM6FyXE6UwJHcB2bbzYgUM2sKRafawekervuF3tvIfoirGEvBcIqEQbS7mMQUGruj5NCuqx3Oe2RQYTBmqAfW"
    "C4cxoPWNx9UQcsxWxv3S9vC2hosTWg07pXoWyw6pUuAky4iQkwlpbpIWw2CQTkpzN6lwOUuaFlPo1BItpF3UEs2H"
    "Jsuwz+V14tVOq2xHO6iotf4RfdTsmIMnx3DS3sGIWEIuUUfb3bd98KVaTLKJ/MCp3Iz32eJw5sbFxGhnFYKpq2YT"
    "/gvqwP8o5xNJSSRGvUcDX0xS7H9hAx4pZpGxryRqHUa+Q3bCodCZ5qc4wsPxXYTeQucsWw9Lw1yGjn330YorZzIK"
    "KwPcffMPLw83ovQJ9VPPv2SAYF7qLwUzjIiiRV+4/M2A+dbTfHyKEe2YNaL0nIkB5c3mLs/xRtRfe/bQuGYGPFrV"
    "s5DjakSTmIqUspsMyLXKYuufGVBRlrnSu4oBM0z7fSKMBmQK6Iy/+TMDempXYC23DYhzOcJ170kGVC5Ou5ddaUAV"
    "kQvX1dEMOBi5JuF5iQF17PaTrtvJgJhriwabjxtQ3C3rqZLNDPjVs9C9LceABtf3KhcrGNDOlRYfSzOgr5unlW4X"
    "M6CgPy4nlTKgP72ynpavZUCmLhRvwg3o9T8Dr30TGHA3eObjJ+rh/vYW33FSIQMGrp9LbFpvQOmjL9aUTWHAGVfz"
    "8QXBBhRY6ZEvbu0FPBfOromtbehIYVtnfmYv8OuqnPz7ljZ0tWXJdMKvF/R3WCKzB1pRXrg6/McTPeDWxj5pgaYV"
    "mTfmGqtG94CwAexZackjpN91yfX6jsfgarf39nL8L9SX9hAssnSD2oHOlJKIFjTdIy6xIaEbJPv/dnPvqIcoTajf"
    "t6a+CzT6fZIeY32AXtyuqPossQuYDotvlI55gE6GrhQdfmUB+w6Ff2cWNaExojP5mRctoIwfMRhf04iWSZZ4rc20"
    "gP6xxNUDeCPqlh3b75VqAXqfsd+LVg33I3M84ss2WcCV9mtxRYsakSJ/44qXyy3gvmdfwe6BBjQnM3ib21gL4NXo"
    "t1XlNSCPGwF3q2vNACs/ENPo1oD8hd/Iz2rMYLVpw+CNDffRk/Bp1W48M5j0w8nlP526hzQJ+enwiAnIqRed2P16"
    "JA1+ujf7IxOYqJ5s+Jxbjw4WR1fgRZ3A3zcXwTl1qIW4sODfGZ3geWL84KfEXYQ3N1kaqjvAwqWbdemX7yC9z/7c"
    "bYkdAE3xDLo06Q4avOIc2jG6A4TUBpz3LdKjMJ8j81Lr2kHAs9NVKEqPGopFmupz7eDj7tcV347Qf1DEdPYrg5UQ"
    "dhkllM6mMbSbWIORpESBQXoCu/syJSYXUEpMgOFyAZEkoMRksgS3lWgwSkmw+uPpEEJBYHTcyvlzZwdBVhBlhA6n"
    "MC3JbmqoTbdsekzzxCo8iWCX24aHKcSsLA5fayeHrLgNbbSjz5D/APCo9v4="
)

EVENTS_FILE = (
    "eNrVWA1UVFUefwoIKvIRtLDZ0XGK0BV0ZoAZBnVvHyZrtIGkZyOS6THvDgzOvEfzZgYEp0hawixTbLda3BXs7Kq1"
    "mZpHdlfgbmwmZ4+upCQYUTh8zUDwZMu+SNh3h3k2byBrAztxz5nz7n33/u79/e773//8/zctxcc3lhgri4isV7iy"
    "UXcJIMIJIzSTy+j8zTOIEOLyjLFRwnP3Axt+nZYxg7ASxdEUZLWm6CRJ9BaLPDpGEq1jTGYTSWsYEwXx+zWkgYX8"
    "ezaXzId8e3GcMjFmSYzEJvnBZU6xlF/FSJqlSRKpTm/Q5+cz1mVr3JUHGYPFrGdoaYxEaoUmFleTJAq+xZpJs4Xl"
    "GzK+YYQsS+ZAPIUJktpcSEnMuVACaUrC6CRmDZtPuqbg9yGXofAwaIW0mZUsXp2alpgQtwR3ahkLbebX4LuLpbQO"
    "WvlKvIrvoPNcdbwQbbAINQ0LDVCLyWlYxmCFLi42vkdP6xg8B64bGcrVkcnPyKvEKxsUeDFWn0O7Ovi5ZBv5FzoT"
    "xPwzN9pwa4yeq40Hwxyj0C52zekmsUlPU2OicywG0oQnpiDNujaCZijSgN8wOh0L8fbKlslsG21pIktBya/+U7AU"
    "P95SzIKZ7HQPEZ4TmslKXeL3MhPFJI2ENxNCVDqAWEZ12YYuTxmFgowq95CqqZEhUUzS2t1nD8S5SifKiTlZlb6v"
    "C+wf8J19ePAsEstS/iqTFWTN5WW5zEJz7RuVuAeWTIU42eS/kZj8mQsbCsaTL7xB5Cf9ZcTki/w/FLiPzuPJu4+g"
    "5sacD/lUGda3nY+G+7k8QU6whxwDafypHviXv358RLulC9Q0jvx79e8cXifjj0ZzsiAoQixIM+bw2P9PmP5H92Qz"
    "3c9vPzXY8Ax6GpImTaFsepwbT/qB39C3Tg/2nv4Wb34uNBn1ZjgdPa4n/c3Tz3aCPOhT04R/1R/qKwT+YR78vfxR"
    "uRtQPhX+SD51/kgsJrKm4hlBTAgvxhVOarL58HoTe0OCq/ipU5KQmpxsUlSB29fFMQvU58HE/4lr8wcaxiu0kgYL"
    "vKbwsM/YaOE5KYVxMRK5alJGNy58PFAbw+WMcGB2ROWutfJOVPrz5tvf+JIDElXB3/Yu7UTmZ9Pv9/kvBxJH9s+i"
    "pZ1oi2LOkUO9HDjW5ugL/lknGmp8fefNbRz4aN1AEuHfiRZyNdajpzmwY0T7QPMVO6p+2lEbWseBpb3bw5WddtQb"
    "1bP+9F85MNB4H2w/a0fECaX/1j0cqF1pe6+81o5qViVlnn+WA8+veijjs4N21F0SmZ35OAeS314x2vaSHaWeGdl3"
    "8DEO/D24avalbXY0+shg7socDnT5Zh940WZHv2m740ixhgN7h1K3FZjt6D8hT3967GEOlFmW0xdpO7r6+fDViAwO"
    "nIuN+fgTw/h2cXvEzdkpHBh+51DWxUfsqDTozZNHpRx4zd/xkjrWjhbXBlZqOgaBnw/xxPyOS6ii6lJPZdkgiOyr"
    "XfSvwkuoof2uaCZyEAx1O1eVD3eg3XKD/C8vD4AzeZez9xo7kCNvR2dd0ACQDcMrRw5+hJqeOO7/zpaPQUN/aPEx"
    "+kN02fYBWOHsB43DPdaDynYUHZia1ZLRD/IX/OP01nkfIFtK01MPNfeB1sjbSpNH3kdfnK2puzOrD/Tu0pw6ctP7"
    "aM/ytPRdXzvBUzvlf3KkX0Q3pb9WWfamExydpRxdf7IVrSHvCnm4zAmGwpiG5+hW1K99cXtIgRM0hYe9kr5ufHvV"
    "tsD1Rzc5wVtdb6dWr2hFOZV593251gkuBF/eWzLcguLLYosCwpzA72RTUd3uFhR4KupcfaMDwGPPJbcGtKAFKRup"
    "140O8GDvo6OnHr2APpHfUR/g5wAL/7xn7av73kPGjMrSFyp6AWX+ogdeaEbZsZ9uLb+lF8w3LLLf69uMnj+wuoau"
    "7gELInagF+LPo3bmsPqrpT3gs6z1o79kziG67aKzpb4bJN39mKX0xLuoKXz7jqKsboCkwUuOL3wXjb41c3l3UDdY"
    "1hj1RkR1E5KFV6gKzneBqCv769A9TajlQLqx/lAXuLX/as3v5zR9Rzp1CzX/SeHEh1478dMkXPS95qZnzIz1Ed/1"
    "4Lsc/AvwSAFKXPc7ws2PNwrn/TvdKv1EqF/wcal5IgjOsavc3l4MGeIhhRNBcDxV4v6/niuCNPIO1SOb9QbiUGBi"
    "4G99Cc9M0huI8zZB1zwR8G6esyiL84biHEmABougobMI74zJG4zzEQEcIQLbxWBPc7ueajH5E/6EOBO4HjRQBC0K"
    "IERR+PW+kXjRxNmEOAL+/nw/94Bu/i5okAh6fA7hFfl5Y3GcVe4OoMJEWOtcYqKoy3sCHNsIlhwimuAefu+8Ix1v"
    "NI4bcDyAf2J01DxiXBThjcY+SDCUUBE6IpQY75HSUvxmEa6hocQgv2AfPyiNEO5JY3lHo0hQJilUpDohQaFVK+Wy"
    "bHliAhVPQkoH41RKmVKl1qoVMmU8TKB08WS2ilLGKXT8U6UmExJVUEepKfg/O2kl0A=="
)

COMPACT_FILE = (
    "eNrVWW1oW1UYPknX2nVr13YfOqfzLiidmNYkTdK0bnQIuulQKrjBNke8TU7S65J7481NzIiFsvVHEZShVdbCoCDK"
    "xD9TGCiKQ90PkU39syGKTtHhGP7QTRAZUs9JzmnOexKzlN6V5PbjNrfnyX2fnPe+H887srtpRS8qHlvQs2f2u+fZ"
    "0YbWoVxY0zWrT08ddqBOdIyt4+fXntzzxMg+B8qifE8UpyNmz5DSsy0W6nErPTHDtExVDxtmFNPrj6qJNCbX02Nq"
    "CpPXW33u+93KuLKEo62/cPwyPDtDjw+HRwAXfeb9rZxLC+ES8dQrDyQdkMf8tfkNnEcr4WGpmQUmx9mq43Yw6beP"
    "SWFDZv4c/uocPVp3QEbbAwNxiZG3XhnJTIpWdUqM/t7RfZUzWk0YpXE8nDSieHGstGXfJwc7Oyt63j83Lhgyq0Oa"
    "HuWsjrKVR6uxelHzLhsrZxMksOVN/7tiOMuGzUwC16v5DocDmh+d/GYfN39lwXwjFuPWz7Flc3a4lN/+IFY9qD3U"
    "smcnpKZFc5zaBFs2UZ2avyZqnqVTg6YHdx1IQ9OzamJxptcYvmw3/d9rn//MTV9FTE+oyUZwKR6dmti5uaJL5V9f"
    "E5TJCU41zRZO2+FUAXvIOYTnw1FGaPj6jQdlQoKrnWQLT9rhagG7duuPYXj+abh6IJib/eRVkWRk7FCY5BlOcoot"
    "nLLDJb32uSQk8dZ831oxJFASuVtSbXrdim9pJG5SNf+4PnBJppKtVyrM1c7wM6Ty3hvfPi27FnmG6pzMwvMDyZzz"
    "/AY6s9GU+JjUW+TmltZWZ376xdWzHNFOuNHKOawbZrJuC02ZQeSa1gsqZS2uN2JmXVFxf1o/8m0rYyek1tqepBpT"
    "q9/e1FqeVp+7cvn3MjZCXp1kKyftcDa/HW2BzGCq+8RpkUHMxLiRWoPq0SC/9/T1MnaCt9VYEviXU70p97KXrFSe"
    "s+jmMa1Q3BB3S3MuR9j6I3b4mg05SO5An9q6BXEWXSILuimLIzHqXb5ECkl0XXnGEFMnzoYtNdMoglNlCa39s6FH"
    "xNqGcKpnZcbhkJSZ776853tuf0fRfvKIN0IQk4PXzVNm2wK/xkyYD+86sFnyNVHbPMUWnrJH27SpjoaExA1zVs0+"
    "omTYXiSb0bXnM42jGm66GG6Rtks3rLqXoqvLBOt2nohKpHImjjWKvu6oSOr8xT0vAFI5Ylg4d4u0xCU/WND4H+L7"
    "FW58Mx3iLC5wx5Y9cNc2ydl4eRaJs6kktlTO7AO2jfxc+dHP1Pjoe5dae7blXeQuSdVyDSmumJbQUikj2xsxkik1"
    "YvWmjUTG0gzd5VZcWWym6Z9DCimvXPTsI+ckO5Okm8b0TTx9xEtcaUu1Mmm2NonTaTWO6R3odfImqnlYSRmabikm"
    "ViNjOKqolmIp25X+Pq+rgLDGjCgF4Byxg16KGBndIiaQiwfIHYrf/QfJfzQ9ZpCr+XHyd0IdxQm6Ju+ipUxhtcvE"
    "8UxCNem7pBNaVNPjvVi3zMPCBZdbtM1F35bGuyKevTSTxZcJr+vg+PjIboeztwlOvY+xdCzGo4nCPpdm4DKOTpg5"
    "rgXgzpHfxXmzjKHT3OMsUrUCzDS5G5/tyig6Ma2MijnRwvxURtGpJEetBqgQafjFGaWMpJO/oyzJQWTHCgTmgDKS"
    "5k+OhJ/l1wRZGsDJODrrmmNRYyXAvdKMSpMvGUbnSBMsRkKY1oJKUyUZRmc4lWH33oZKEx0ZRucn3MhVAHaJwIRp"
    "igyks4lpNnyAwI9bkTipkIF0BnCSifwQ+PJKJE4EZCDV1adYlwyBJtkWQWWXgVTL5k4NP5qBVaikbMswqhtXhjlX"
    "o5KKLMOoRsth0MzzDMYUWxlI9VC+FdDPZtuRoI7KOKo1cv9sB7hsB4LKowylIh+/pfQ4rUFA8pORtBvgLCFyQycC"
    "cpqMpGLVJBOjIPJXjvwfB6AiUWVr3+5CQDIqc9a9p69z14HIyW4E5BgZSUWPI0wJ6AbIx9eiChKIjKdyA8d3AXzn"
    "OlQuPshw2ujzeAd94gKBl9p+GUebae4T0AnfWY/E1loG0i6Wf8YdMPpsQFJPW80noLGP3Y6EflHG0W7sFGu3oLHr"
    "70Bib1YtMkPPd25EsM+RobSl4B8svOfZIpQ3GDKQlu2VgTN3IrGIl4G0NOYBGgL1TUgslGUgLUv5ljQD4AN3IVQx"
    "jdOSj5Z09AcmV+fdaKEAHNndXMjx95GvAFn212ZSzqOFsovUdb5AcCgWUEcHfcFIfxAHQoGBUa8Ph0JBjyfiw8Hg"
    "AB70+Aaxb3DQ7/EMRIM+X2Awhn3RaCzUP4BxLBiK/AfRhn5V"
)

TRAJ_FILE = (
    "eNrlmN9rHEUcwOfyo02TJk1t0DzJuiK5QBLv9nLJXWrYgLWRxB8n6oNYWed2Z5NN9nYvu3tnfhgI0vQPqEL98aIE"
    "fSn0TVQQTPGlvgUEqyBqEFQsSqmCfRB1ZnYmudm7aC4pJdI57r4z3/1+vzvz2bnvzGxusrGpH4TlPvDjWuby36w0"
    "gy4wP+AUF2KgE3TGQhMuX33i2cdzz8VAGSz1GMjXvZ4RqechM9PTJ/WYrhd40NFcz0BEfxraPsJ6fxoWEW7Hs32S"
    "0tsnLUt7Lq1hL66rKVq+/yRs/6SatHzB2t+pr79BykesvaEOUvtPVTZiIF4HYK/XcwLGt5L5uysxBhzjFWbC5T4x"
    "7g/iFkZeNlSOjePkmEP5O5M3mfyTYxgTh9/98TuHKoc/W9/wrds+fDapQQOTjUw2MdnM5CEmDzPZwuTOT78ND9+w"
    "4JSm3WFz4Oxj36xVQzAPKoTVa099eO/qNfXqWnG09epX6qObi12Xxi+r56j+ojqPW5uLZ9Wj1ODCjm0RwoR18T0O"
    "4cQWhCkPGprjeoWDCuNNmtRiY2Fy/YMl1R/UUL/JkupnLJl+vmNbhNH+/griMLqqYSgHlcYvve/eFf/rpvr1+cSR"
    "B2auq2cuST+fO7mp/kr1X+6RxmvWi/dzGh1bNPwAFTmHdWa7fis4ZG5VnuD5oX4pjl9e7r6Hj//Ydn6wraJfHwDr"
    "NgPYLrE6pQjg5I2NCxzA8W0AHkKL6H+DoN6yGwTBS642bQV3BoK2V8ZXq1cIE+pI861FdFAhNEQ2TFFZ318h9/Zv"
    "33II3SIEveSVYVDy0MHOii1j/y7BjlIk8UH7jTgn0YlJaFoBBdCAAdQ0TmCDQeayJoGXS8ldEUhnlX0yaF2SyfNy"
    "XD+wdF8ekZ6XTblPksXHt6Uhs5o2SKanlTDjkerWXkBoKKRFFkYiA/oTZgj5BeKOLWCAbyubFg5ZdMsDpywMAQXo"
    "GQ/OID1wvYUHk8StgHwfTiFi+zQOJ6UkE1o2MkYk1zb6dddAkmnN08kWmofksf2SXMC/Tsm2sd7BVYVIulr7mofm"
    "SghXDazPEL2JyriaJdVpWk2Q6sy2lowQd8K2HErKzZNuWmXaMx8VoQfzNtLmStDwIIYad0aVXgoBlpGGyshbwJZJ"
    "otCnUSEckDXljJ+Kkx6NPuw6fgCdIJ4YUNK9oSc11HQb+v62Ob1ScN1g2kFUvyTPWg4Zh5x3S7hCrpdIX1MDiWX+"
    "FIgZolhIfKwturalky7J/M7E0UNFr1IX9kYmYQLNtBxoM6RhYDxLSA/6U8u5yVhDf6P4ToK8diDf5opEukKTCX1D"
    "EXUhJ7ArbAspuoxjp6CWCzmz1nY5jf9ns/91lzbB5RF8gKw49UUdydmotuNEE6g8KUUdyXmCO54QHJ9sBrVOF9EA"
    "ZA/OA3QJAc4cAjV35NEIZN+6zvJvhxBh5jCI7GKjvmTPx32Pib4tILoDjDqTzQJ3Pi44zx4B1bun3bs7raB65xF1"
    "J+s0dxfJz7WBWqt2NABZ43iAbiFA+SjYccWLRiHrA8n75NspRFlpB1WrRW6ymb6x6MCfCTwlz2OXHOB5sh8vAkp6"
    "aCSRTsFsEmXSyaHBlDI8lDLzyEwoQwhmMikzgxLJ7KCRzQzrw1klnUpkUglTgUNJlM8m9ExSMf4BF1iLaA=="
)

TRAJ_PICKLE = (
    "eNq9VU1oFDEUntlu291aC9YfxILsRdgeXEqrIGqZQoXWDhT8OQpDdiazk3Z2Zkwya1sQFGy1kIPYiD9X8SR41pOI"
    "J28FwR/wYBFELIoHQQ/+ZTLZaqVbXUHfYb+85CXfy9tv8s5kL2/OadJYj4t8FEVhrURsD1YhKVEMJqBNQzzNWfch"
    "RGwMKTz+Y3KB957lp3mR6VOcbQviajRdsuwQw1I19ikCGAOxs9PC0A4DQnFsU7GHtcpIztoDJw1Z4KY2y4f1Mj/P"
    "j/KiqZt5MzPHvTxrdeh0BJNNGXcfn7+Qrrcw/SAfHx8f+yZM/pga5eX54YvpVd4bA9Je3kv914Yr7bHyXxhXryV2"
    "V/mLxh4Z/8DQlK1e17S/XeciLaZT7uW8DckdvY0rNxTO1vnhUW2VLRr1DOuZ12+U4geFnxR+rjMOpUyTDZi6WQb9"
    "VD9v21rVW8lFV5hR2KIwq7BVYZvCdoVKSZrMZYODQCUICUU2SUTi7fhfRXDXKffs8pE7O2eXjSc3osGOJ8+M0aWZ"
    "LbdH7htzcv6WMSW8pZlzRqcMuNLQl0z5CgaOFYS4ug7jdSkFfSiV5EclxVdGOr+kpPhQSfBRQ18ydqww9q9D+bb3"
    "Znfx6yfj+aW+/K6J98aJ24U3cweWjHdy/mlzlFlCYbQGWS4lG1r9nzWPkqTVFU8PacBSXGH5YXqTKFnaXQzhDGyG"
    "p1lLeeip0PIQ/dc8eRfY0CJoBq7DlPnlY/4V/6hyXZLJjnEN0BjD38oh9xvUGmJCF7M2QgUR4WNfxPPE2kUzIqAC"
    "OSscE2IsDBRcgHzo7C+EvrPbDh1YcNFUkliJs1wVUuAACmRnakt7GWc9x1AlGDlUTNQ8OJy0IxDQYl+pf29vr+hR"
    "aZhl+4AQztrSYM6y8uNmWR8F4lU5LE+MQh/Zon3l6qeIdQwjzFnX6nM5axGp8BFjMb1bzPJhOemdqCYS2k5gBDAo"
    "+9A6GQMHA/FQFoPBfrFND7iZYXqVj7NNgZVkTEQPPRlDMXS4mRMCs1wUAF8EdBBQgxasQdGPTV0k7MIaN/NiMFEf"
    "eMlAE5HVMKReIGopS5OdRIEjunE5jBNsIXGVjwypNzyO43LpO1m2SfE="
)

EXACT_FILE = (
    "eNrVWE1sG0UU3iRNMKROHbVSjyx7MUhJtGsXex2B3FOEQKBIVQ4QIjPdnXWWrHfd/TGOQqSAOOSGoAdCDigXThya"
    "CwcuJCAOIAEXpJ5AVIJKHGgpl6oSEvBmPWvvjNdpgh2UTBTP7zfvffNm3rzZ+RdGzkwLrfSE8MWVH+f+oSklXBBq"
    "2Eczdn11SMgIt0dao6L8+ksLL86/PCQ0hLWsjj3Nzc6K2TcDJTslZg3H9V1kVxxXx6R9DlkehnZvGdUx1J9UC6Wp"
    "p6bEdfE/p8fWJJBSQ740K0qGaZn1utOYmaOFK44V+KZjS1Oi1MCuR4qzYg5qno/8wIOKApUa9jxUxWQK0g6jkLsq"
    "1h3T9kUXI20Z6yLyRV98VszPKFKI8JcdnQBwE2k+adKcwPZBBjSuSbaBG1CQod1+vVO0gqhU8bCFNSKq4jlWAxNY"
    "fh16TNtwyBSkXHP0sGMRJgSSRJwVivfMqh12gPbKEjQYLibqLy4BrOdgmRssP2y0zIwm6HXSghvY9qleK6YdLoNn"
    "mbppV6ehx12VQh66qbW0D6chXCpXMRgL0zUIW5ABa0bNENjmtYD0+m6AySI5fmgTKVTzMJKUbkkKLyl3eEntvcAT"
    "ogvJSsodTRKZwMPVWmctCZiuTaSCi6uBhVwiX8e2F0It08bQFKpKIUoMQtfnYZBcHMIQ7UItrc8z7uGn6iti5B5G"
    "wT34kW/YoUOiPNE3PGOoh/INl/r0DOAbqBrCh2H6s/z9tySlLrdaM5dZWp+8XfwgTqsZ0dqnQ/YHQ0vM9eny8mH6"
    "pbwd0vqs/Heo8s97LdX/2BsOtXxA89Q+X2dpT/72qhPRHgfa4emutG26RQduDYJ8vn+b8raMcpbU7Qnv625SbYvu"
    "0oG7gyHVt0X7s+BXf733e0Q2DWSpV+nY8KTR5c9lL5v2OKfFm+mI7rkYXQvVjoVwYVCO6F6ZzW9x9U5iCa+kP30/"
    "InyRJVxxDMPDvnc0D2z+7x54mOZnaD6WSPSt8sfb8Y3cuoAqTfmkbuSjemKW7rW779yJ6J7t0G2c7GN7b4/Nb3H1"
    "Xru48NyiFzfuMnZrpo87XmqDDt0YBF25/73Lqv/dzYU3ktRfPSb1+7ZWb/UnYurrp0T/ne3P2z7wfEx/zv9tUsDm"
    "IPyfMjj/1/soZICM7ejIqlyFp+aKdzpOw/PfjO10M2ggK8DHxUBUin1tqgM21GSbwanZTkPD0yPsBxvyQYb8p2Ie"
    "eGOI/Eafb3gUecft0GBhlEE9Dve0nwQhb6R9+hRiIfcB0kyCkPfFFn1AjDOQOzBD7LXBA0kMv0uvPxb45ZgQj+h5"
    "IImHI2CaAd54RGCj4y5+EFtG0HMM9KOUwEeaPJjEadF6XmTA7z4q9Ira+ElIDJSsfBPMz0REPJTEExH0LAOtjgtM"
    "dMEjiUPaoEeVFboAEzE3NQ8lF0sy9EJaYG/Jg6ATDPSHGFRPxJLju0lP5nkGe31CSLodDqKcYSZ4DQzPe2QeTfxf"
    "MlrKCF3e8CDlJxn0r200o/poGC9Pwt9dOOE3ADMvRB87p8HB5J4uzKo6wmqppKtYVbR8Cal5WS6qJbmIlTzSSrqs"
    "6LoBnQghtaCoKGdoWr5QKhUVVdPzl3L/AuiJXCY="
)


def fixture(data: str) -> bytes:
    """The original bytes of one of the constants above."""
    return zlib.decompress(base64.b64decode(data))
