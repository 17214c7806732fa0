// Command nohandler is a test guest that forgets to call sdk.Handle, so its
// init must fail.
package main

import _ "github.com/proctag/proctag/sdk"

func main() {}
