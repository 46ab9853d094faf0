// The package by its own name, as an app's bundler resolves it with the `browser` condition:
// the browser entry of the published dist/. Plain JavaScript: dist/ is build output.
export * from 'shs-transport'
