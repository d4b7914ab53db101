import Foundation
import PackagePlugin

/// Writes `BuildInfo.commit` (the git commit the sources are at, `+changes` when they differ
/// from it) before every build, for `uplinkctl --version`. The file is rewritten only when the
/// commit changed, so that an unchanged tree compiles nothing again.
@main
struct BuildInfo: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = """
            mkdir -p "$2"
            commit=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            if [ -n "$(git -C "$1" status --porcelain -- Sources Package.swift 2>/dev/null | head -1)" ]; then
                commit="$commit+changes"
            fi
            text="enum BuildInfo { static let commit = \\"$commit\\" }"
            [ "$(cat "$2/BuildInfo.swift" 2>/dev/null)" = "$text" ] || printf '%s\\n' "$text" > "$2/BuildInfo.swift"
            """
        return [
            .prebuildCommand(
                displayName: "uplinkctl build info", executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", context.package.directoryURL.path, output.path],
                outputFilesDirectory: output)
        ]
    }
}
