import JWTKit
import Crypto
import HummingbirdBcrypt
