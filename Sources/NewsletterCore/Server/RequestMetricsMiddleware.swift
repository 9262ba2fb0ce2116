import Hummingbird

/// Counts every request by its matched route pattern (never the path, which may hold a token)
/// and the status it got.
public struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    public let metrics: EndpointMetrics

    public init(metrics: EndpointMetrics) {
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            let response = try await next(request, context)
            metrics.countRequest(route: context.endpointPath ?? "unmatched", status: Int(response.status.code))
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.countRequest(route: context.endpointPath ?? "unmatched", status: Int(status))
            throw error
        }
    }
}
