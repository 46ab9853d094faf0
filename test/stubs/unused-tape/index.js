// Never loaded: the test vectors are read from test-secret-handshake/data.json alone.
throw new Error('tape is not installed here: only test-secret-handshake/data.json is used')
