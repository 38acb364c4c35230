import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GlmChatCore

// Model, backend (and why), tokens/s, context used / available, load progress and errors.
Rectangle {
    id: status
    signal modelPickerRequested()
    implicitHeight: 34
    color: Theme.sidebar
    Rectangle { width: parent.width; height: 1; color: Theme.border }

    RowLayout {
        anchors.fill: parent
        anchors.leftMargin: 12
        anchors.rightMargin: 12
        spacing: 14

        ToolButton {
            Layout.preferredHeight: 30
            font.pixelSize: 13
            text: ChatController.modelState === "none" ? qsTr("No model — choose one")
                  : ChatController.modelState === "loading" ? qsTr("Loading %1…").arg(ChatController.modelName)
                  : ChatController.modelState === "error" ? qsTr("Model failed to load — choose another")
                  : ChatController.modelName
            onClicked: status.modelPickerRequested()
            ToolTip.visible: hovered && ChatController.modelPath.length > 0
            ToolTip.text: ChatController.modelPath + (ChatController.modelMemory.length > 0 ? "\n" + qsTr("Memory: %1").arg(ChatController.modelMemory) : "")
        }
        ProgressBar {
            visible: ChatController.modelState === "loading"
            value: ChatController.loadProgress
            Layout.preferredWidth: 160
        }
        Label {
            visible: ChatController.modelState === "ready"
            text: qsTr("Backend: %1").arg(ChatController.backend.toUpperCase())
            color: Theme.mutedText
            font.pixelSize: 13
            HoverHandler { id: backendHover }
            ToolTip.visible: backendHover.hovered && ChatController.backendReason.length > 0
            ToolTip.text: ChatController.backendReason
        }
        Label {
            visible: ChatController.modelState === "ready" && ChatController.tokensPerSecond > 0
            text: qsTr("%1 tokens/s").arg(ChatController.tokensPerSecond.toFixed(1))
            color: Theme.mutedText
            font.pixelSize: 13
        }
        Label {
            visible: ChatController.modelState === "ready"
            text: qsTr("Context: %1 / %2").arg(ChatController.contextUsed).arg(ChatController.contextLength)
            color: Theme.mutedText
            font.pixelSize: 13
            HoverHandler { id: contextHover }
            ToolTip.visible: contextHover.hovered
            ToolTip.text: qsTr("Last prompt: %1 tokens reused from the cache, %2 computed").arg(ChatController.reusedTokens).arg(ChatController.computedTokens)
        }
        Label {
            Layout.fillWidth: true
            text: ChatController.lastError
            color: Theme.danger
            elide: Text.ElideRight
            font.pixelSize: 13
            HoverHandler { id: errorHover }
            ToolTip.visible: errorHover.hovered && text.length > 0
            ToolTip.text: text
        }
    }
}
