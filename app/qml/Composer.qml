import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QtQuick.Dialogs
import GlmChatCore

// The message box: Enter sends, Shift+Enter starts a new line; attach a document; stop; the
// prefill's progress, time left and cancel while a long prompt is read.
ColumnLayout {
    id: composer
    property string documentOverflow: ""  // the user's choice for a document over the budget
    spacing: 6

    RowLayout {
        Layout.fillWidth: true
        Layout.leftMargin: 16
        Layout.rightMargin: 16
        visible: ChatController.prefilling && ChatController.prefillFraction < 1
        spacing: 10
        ProgressBar {
            Layout.fillWidth: true
            value: ChatController.prefillFraction
        }
        Label {
            color: Theme.mutedText
            text: ChatController.prefillSecondsLeft >= 0
                  ? qsTr("Reading the prompt: %1% · about %2 s left").arg(Math.round(ChatController.prefillFraction * 100)).arg(Math.ceil(ChatController.prefillSecondsLeft))
                  : qsTr("Reading the prompt: %1%").arg(Math.round(ChatController.prefillFraction * 100))
        }
        Button { text: qsTr("Cancel"); flat: true; onClicked: ChatController.stop() }
    }

    Rectangle {
        Layout.fillWidth: true
        Layout.margins: 12
        Layout.topMargin: 4
        implicitHeight: Math.min(Math.max(input.implicitHeight, 44), 220) + 16
        radius: Theme.radius * 2
        color: Theme.dark ? "#2a2b2f" : "#f7f8fa"
        border.color: input.activeFocus ? Theme.accent : Theme.border

        RowLayout {
            anchors.fill: parent
            anchors.margins: 8
            spacing: 6
            ToolButton {
                text: "+"
                font.pixelSize: 20
                Layout.alignment: Qt.AlignBottom
                onClicked: attachDialog.open()
                ToolTip.visible: hovered
                ToolTip.text: qsTr("Attach a document (txt, md, code, html, pdf, docx)")
                Accessible.name: qsTr("Attach a document")
            }
            ScrollView {
                Layout.fillWidth: true
                Layout.fillHeight: true
                TextArea {
                    id: input
                    objectName: "composerInput"
                    wrapMode: TextEdit.Wrap
                    selectByMouse: true
                    focus: true
                    background: null
                    placeholderText: ChatController.modelState === "ready"
                                     ? qsTr("Message GLM (Enter to send, Shift+Enter for a new line)")
                                     : qsTr("Load a model to start chatting")
                    Keys.onPressed: (event) => {
                        if ((event.key === Qt.Key_Return || event.key === Qt.Key_Enter) && !(event.modifiers & Qt.ShiftModifier)) {
                            event.accepted = true
                            composer.submit()
                        }
                    }
                }
            }
            AccentButton {
                Layout.alignment: Qt.AlignBottom
                text: ChatController.generating ? qsTr("Stop") : qsTr("Send")
                enabled: ChatController.generating || (input.text.trim().length > 0 && ChatController.modelState === "ready")
                onClicked: ChatController.generating ? ChatController.stop() : composer.submit()
                ToolTip.visible: hovered && ChatController.generating
                ToolTip.text: qsTr("Stop (Esc)")
            }
        }
    }

    function submit() {
        if (ChatController.generating) return
        if (ChatController.documentState === "ready") {
            ChatController.useDocument("ask", input.text, composer.documentOverflow)
            if (ChatController.documentState === "") input.text = ""
            return
        }
        if (ChatController.send(input.text)) input.text = ""
    }

    FileDialog {
        id: attachDialog
        nameFilters: [qsTr("Documents (%1)").arg(ChatController.documentPatterns.join(" ")), qsTr("All files (*)")]
        onAccepted: ChatController.attachDocument(selectedFile)
    }
}
