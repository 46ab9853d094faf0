/** The sizes of SHS1 messages and box-stream packets (docs/PROTOCOL.md), and where the tests connect. */
export const HOST = '127.0.0.1'
export const HELLO_BYTES = 64
export const CLIENT_AUTH_BYTES = 112
export const SERVER_ACCEPT_BYTES = 80
/** 16-byte MAC, then the sealed u16 length and the body's 16-byte MAC. */
export const BOX_HEADER_BYTES = 34
export const BOX_MAX_BODY = 4096
export const MAC_BYTES = 16
