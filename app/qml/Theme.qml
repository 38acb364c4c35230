pragma Singleton
import QtQuick
import GlmChatCore

// Colours of the light and dark themes; "system" follows the desktop's palette.
QtObject {
    readonly property string choice: ChatController.settings.theme
    readonly property bool dark: choice === "dark" || (choice === "system" && ChatController.systemIsDark)
    readonly property color background: dark ? "#1f2023" : "#ffffff"
    readonly property color sidebar: dark ? "#2a2b2f" : "#f3f4f6"
    readonly property color selected: dark ? "#3a3d45" : "#e1e6ef"
    readonly property color userBubble: dark ? "#2f3b52" : "#e8effc"
    readonly property color codeBackground: dark ? "#151618" : "#f6f8fa"
    readonly property color codeHeader: dark ? "#26282c" : "#eaeef2"
    readonly property color text: dark ? "#e8e8ea" : "#1f2328"
    readonly property color mutedText: dark ? "#9ba1a8" : "#636c76"
    readonly property color border: dark ? "#3b3d43" : "#d5dae0"
    readonly property color accent: dark ? "#7aa2f7" : "#2f62d0"
    readonly property color danger: dark ? "#f28b82" : "#c5221f"
    readonly property color warning: dark ? "#fdd663" : "#a15c00"
    readonly property string monoFont: "DejaVu Sans Mono"
    readonly property int radius: 8
}
