/// The OpenAPI document /api/v1 is generated from, served verbatim at `/api/v1/openapi.json`.
public enum APIDocument {
    public static var json: [UInt8] { PackageResources.openapi_json }
}
