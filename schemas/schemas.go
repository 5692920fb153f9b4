// Package schemas embeds the event JSON Schemas, the AsyncAPI document and the OpenAPI
// documents, so that code validates against exactly the documents operators read.
package schemas

import "embed"

// FS holds events/<service>/<event>.v<N>.json, asyncapi.yaml and openapi/<service>.yaml.
//
//go:embed events asyncapi.yaml openapi
var FS embed.FS
