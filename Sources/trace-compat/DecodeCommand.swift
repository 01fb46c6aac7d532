import ArgumentParser

struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode", abstract: "Print the spans of captured trace payloads.")
    func run() throws {}
}
