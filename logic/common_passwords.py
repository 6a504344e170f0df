"""Passwords that appear at the top of every published list of leaked passwords, plus the obvious
local ones (the organisation's own words, Persian-keyboard favourites typed in Latin). A staff
password on this list is refused whatever its length. Compared in lower case."""
COMMON_PASSWORDS = frozenset("""
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 baseball abc123
football monkey letmein shadow master 666666 qwertyuiop 123321 mustang 1234567890 michael 654321
superman 1qaz2wsx 7777777 121212 000000 qazwsx 123qwe killer trustno1 jordan jennifer zxcvbnm asdfgh
hunter buster soccer harley batman andrew tigger sunshine iloveyou 2000 charlie robert thomas hockey
ranger daniel starwars 112233 george computer michelle jessica pepper 1111 zxcvbn 555555 11111111
131313 freedom 777777 pass maggie 159753 aaaaaa ginger princess joshua cheese amanda summer love
ashley nicole chelsea biteme matthew access yankees 987654321 dallas austin thunder taylor matrix
admin password1 password123 welcome welcome1 p@ssw0rd p@ssword passw0rd qwerty123 1q2w3e4r 1q2w3e4r5t
q1w2e3r4 qwer1234 asdf1234 zaq12wsx abcd1234 abcdef abcdefgh 12341234 11223344 123654 147258369
88888888 99999999 00000000 12344321 1qazxsw2 admin123 administrator root toor changeme default
secret guest test test123 user 123abc iran1234 tehran123 tehran isfahan mashhad engineer engineering
nezam nezam123 nezammohandesi mohandes mohandesi sakhteman demo@1404 demo1404 demo1234
""".split())
